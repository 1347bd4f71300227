// Puts a staged image in place or takes one away, under the daemon's lock and never under a VM.
import { stat } from "node:fs/promises";
import type { LabContext } from "../context.js";
import { NotFoundError } from "../errors.js";
import { writeFileDurably } from "../state/atomic.js";
import { validateImageName } from "../state/names.js";
import { type ImageManifest, MANIFEST_FILE, renderManifest } from "./manifest.js";
import { type ResolvedImage, resolveImage } from "./resolve.js";
import { cleanStaleTemp, commitStaging, deleteImageDir, type Staging } from "./staging.js";
import { assertUnused } from "./usage.js";

const isDir = (dir: string) =>
  stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * Writes the manifest last, then swaps the image in. Takes ctx.lock itself, only for the swap,
 * so callers must not hold it (the lock is not reentrant), and a long download or copy never
 * blocks other operations.
 */
export async function installStaged(
  ctx: LabContext,
  staging: Staging,
  manifest: ImageManifest,
): Promise<ResolvedImage> {
  const { name } = manifest;
  await writeFileDurably(staging.file(MANIFEST_FILE), renderManifest(manifest));
  await ctx.lock.run(async () => {
    if (await isDir(ctx.paths.image(name).dir)) await assertUnused(ctx, name, "replace");
    await commitStaging(ctx.paths, staging, name);
  });
  return resolveImage(ctx.paths, name);
}

/** Refused while a VM uses the image; the caller holds the lock. */
export async function removeImage(ctx: LabContext, name: string): Promise<void> {
  validateImageName(name);
  await cleanStaleTemp(ctx.paths);
  if (!(await isDir(ctx.paths.image(name).dir))) {
    throw new NotFoundError(`no image named ${name}`, { hint: "see 'lab image list'" });
  }
  await assertUnused(ctx, name, "remove");
  await deleteImageDir(ctx.paths, name);
  ctx.events.emit("image.removed", { image: name });
}
