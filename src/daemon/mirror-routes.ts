// API paths for the artifact mirror. Adds and imports do not take the daemon's lock: a download
// must not hold up every other operation, and the mirror store serialises its own index writes.
import type { LabContext } from "../context.js";
import { UsageError } from "../errors.js";
import { createStaging } from "../image/staging.js";
import { addArtifact, importArtifact } from "../mirror/add.js";
import { listArtifacts, removeArtifact } from "../mirror/store.js";
import type { RequestContext, Route } from "./server.js";

function str(body: Record<string, unknown>, key: string, required: true): string;
function str(body: Record<string, unknown>, key: string, required?: false): string | undefined;
function str(body: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === "") {
    if (required) throw new UsageError(`field ${key} is required`);
    return undefined;
  }
  if (typeof v !== "string") throw new UsageError(`field ${key} must be a string`);
  return v;
}

export function mirrorRoutes(ctx: LabContext): Route[] {
  const withProgress = (req: RequestContext): LabContext => ({
    ...ctx,
    progress: (message, data) => req.emit({ message, ...data }),
  });
  return [
    {
      method: "GET",
      pattern: "/v1/mirror",
      handler: async () => ({
        port: ctx.mirror?.port,
        listeners: ctx.mirror?.listeners() ?? [],
        artifacts: await listArtifacts(ctx),
      }),
    },
    {
      method: "POST",
      pattern: "/v1/mirror/artifacts",
      handler: (req) => {
        const name = str(req.body, "name", true);
        if (req.body.path !== undefined)
          throw new UsageError("labd does not open files by path for a client", {
            hint: "use 'lab mirror import NAME FILE': the CLI sends the file's content",
          });
        const url = str(req.body, "url");
        if (!url) throw new UsageError("field url or path is required");
        const sha256 = str(req.body, "sha256");
        const sha256Url = str(req.body, "sha256Url");
        const trustFirstUse = (req.body as { trustFirstUse?: unknown } | undefined)?.trustFirstUse === true;
        const member = str(req.body, "member");
        if (!sha256 && !sha256Url && !trustFirstUse)
          throw new UsageError("field sha256, sha256Url or trustFirstUse is required");
        return addArtifact(withProgress(req), { name, url, sha256, sha256Url, trustFirstUse, member });
      },
    },
    {
      // `lab mirror import`: the CLI uploads the file, read with the caller's rights.
      method: "POST",
      pattern: "/v1/mirror/uploads",
      upload: true,
      handler: async (req) => {
        const staging = await createStaging(ctx.paths, "upload");
        try {
          const { fields, files } = await req.receive(staging.dir);
          if (files.length !== 1) throw new UsageError("a mirror import is one file");
          return await importArtifact(withProgress(req), {
            name: str(fields, "name", true),
            path: staging.file(files[0]!.name),
            origin: str(fields, "origin"),
            sha256: str(fields, "sha256"),
          });
        } finally {
          await staging.discard();
        }
      },
    },
    {
      method: "DELETE",
      pattern: "/v1/mirror/artifacts/:name",
      handler: (req) => removeArtifact(ctx, req.params.name!),
    },
  ];
}
