// API paths for the image store. Pull and import take the lock themselves, only to swap the
// finished image in: a download of hundreds of MB must not hold up every other operation (and
// the lock is not reentrant, so these two are not wrapped in it here).
import { imageRoutes as api } from "../api/images.js";
import { parseRequest } from "../api/shape.js";
import type { LabContext } from "../context.js";
import { NotFoundError, UsageError } from "../errors.js";
import { importImage } from "../image/import.js";
import { removeImage } from "../image/install.js";
import { MANIFEST_FILE } from "../image/manifest.js";
import { pullImage } from "../image/pull.js";
import { createStaging } from "../image/staging.js";
import { catalogStatus, imageStatus } from "../image/status.js";
import type { Mutex } from "../state/mutex.js";
import { validateImageName } from "../state/names.js";
import type { RequestContext, Route } from "./server.js";
import { typedRoute } from "./typed-route.js";

export function imageRoutes(ctx: LabContext, lock: Mutex): Route[] {
  const withProgress = (req: RequestContext): LabContext => ({
    ...ctx,
    progress: (message, data) => req.emit({ message, ...data }),
  });
  return [
    typedRoute(api.list, () => imageStatus(ctx)),
    // Not under /v1/images/: an image may be called "catalog".
    typedRoute(api.catalog, () => catalogStatus(ctx)),
    typedRoute(api.get, async (req) => {
      const name = validateImageName(req.params.name!);
      const found = (await imageStatus(ctx)).find((i) => i.name === name);
      if (!found) throw new NotFoundError(`no image named ${name}`, { hint: "see 'lab image list'" });
      return found;
    }),
    typedRoute(api.pull, (req, body) =>
      pullImage(withProgress(req), req.params.name!, {
        baseUrl: body.baseUrl || undefined,
        version: body.version || undefined,
      }),
    ),
    // The CLI uploads the disk file, or a bundle's manifest.json and the files it names.
    typedRoute(
      api.upload,
      async (req) => {
        const staging = await createStaging(ctx.paths, "upload");
        try {
          const { fields: raw, files } = await req.receive(staging.dir);
          const fields = parseRequest(api.upload.body!, raw, "POST /v1/images");
          const bundle = files.some((f) => f.name === MANIFEST_FILE);
          const src = bundle ? staging.dir : staging.file(files[0]!.name);
          if (!bundle && files.length !== 1)
            throw new UsageError(`a disk upload is one file, or a bundle with ${MANIFEST_FILE}`);
          return await importImage(
            withProgress(req),
            src,
            fields.name || undefined,
            fields.origin || "upload",
          );
        } finally {
          await staging.discard();
        }
      },
      { upload: true },
    ),
    typedRoute(api.remove, (req) =>
      lock.run(async () => {
        await removeImage(ctx, req.params.name!);
        return { removed: true, name: req.params.name! };
      }),
    ),
  ];
}
