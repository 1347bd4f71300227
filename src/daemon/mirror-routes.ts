// API paths for the artifact mirror. Adds and imports do not take the daemon's lock: a download
// must not hold up every other operation, and the mirror store serialises its own index writes.
import { mirrorRoutes as api } from "../api/mirror.js";
import { parseRequest } from "../api/shape.js";
import type { LabContext } from "../context.js";
import { UsageError } from "../errors.js";
import { createStaging } from "../image/staging.js";
import { addArtifact, importArtifact } from "../mirror/add.js";
import { listArtifacts, removeArtifact } from "../mirror/store.js";
import type { RequestContext, Route } from "./server.js";
import { typedRoute } from "./typed-route.js";

export function mirrorRoutes(ctx: LabContext): Route[] {
  const withProgress = (req: RequestContext): LabContext => ({
    ...ctx,
    progress: (message, data) => req.emit({ message, ...data }),
  });
  return [
    typedRoute(api.status, async () => ({
      port: ctx.mirror?.port,
      listeners: ctx.mirror?.listeners() ?? [],
      artifacts: await listArtifacts(ctx),
    })),
    typedRoute(api.add, (req, body) => addArtifact(withProgress(req), body)),
    // `lab mirror import`: the CLI uploads the file, read with the caller's rights.
    typedRoute(
      api.upload,
      async (req) => {
        const staging = await createStaging(ctx.paths, "upload");
        try {
          const { fields: raw, files } = await req.receive(staging.dir);
          const fields = parseRequest(api.upload.body!, raw, "POST /v1/mirror/uploads");
          if (files.length !== 1) throw new UsageError("a mirror import is one file");
          return await importArtifact(withProgress(req), {
            name: fields.name,
            path: staging.file(files[0]!.name),
            origin: fields.origin || undefined,
            sha256: fields.sha256 || undefined,
          });
        } finally {
          await staging.discard();
        }
      },
      { upload: true },
    ),
    typedRoute(api.remove, (req) => removeArtifact(ctx, req.params.name!)),
  ];
}
