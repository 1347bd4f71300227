// API paths for the image store. Pull and import take the lock themselves, only to swap the
// finished image in: a download of hundreds of MB must not hold up every other operation (and
// the lock is not reentrant, so these two are not wrapped in it here).
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

function optString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new UsageError(`field ${key} must be a string`);
  return v;
}

export function imageRoutes(ctx: LabContext, lock: Mutex): Route[] {
  const withProgress = (req: RequestContext): LabContext => ({
    ...ctx,
    progress: (message, data) => req.emit({ message, ...data }),
  });
  return [
    { method: "GET", pattern: "/v1/images", handler: () => imageStatus(ctx) },
    // Not under /v1/images/: an image may be called "catalog".
    { method: "GET", pattern: "/v1/image-catalog", handler: () => catalogStatus(ctx) },
    {
      method: "GET",
      pattern: "/v1/images/:name",
      handler: async (req) => {
        const name = validateImageName(req.params.name!);
        const found = (await imageStatus(ctx)).find((i) => i.name === name);
        if (!found) throw new NotFoundError(`no image named ${name}`, { hint: "see 'lab image list'" });
        return found;
      },
    },
    {
      method: "POST",
      pattern: "/v1/images/:name/pull",
      handler: (req) =>
        pullImage(withProgress(req), req.params.name!, {
          baseUrl: optString(req.body, "baseUrl"),
          version: optString(req.body, "version"),
        }),
    },
    {
      // The CLI uploads the disk file, or a bundle's manifest.json and the files it names.
      method: "POST",
      pattern: "/v1/images",
      upload: true,
      handler: async (req) => {
        const staging = await createStaging(ctx.paths, "upload");
        try {
          const { fields, files } = await req.receive(staging.dir);
          const origin = optString(fields, "origin") ?? "upload";
          const bundle = files.some((f) => f.name === MANIFEST_FILE);
          const src = bundle ? staging.dir : staging.file(files[0]!.name);
          if (!bundle && files.length !== 1)
            throw new UsageError(`a disk upload is one file, or a bundle with ${MANIFEST_FILE}`);
          return await importImage(withProgress(req), src, optString(fields, "name"), origin);
        } finally {
          await staging.discard();
        }
      },
    },
    {
      method: "DELETE",
      pattern: "/v1/images/:name",
      handler: (req) =>
        lock.run(async () => {
          await removeImage(ctx, req.params.name!);
          return { removed: true, name: req.params.name };
        }),
    },
  ];
}
