// `lab image import PATH`: a qcow2/raw disk file, or a bundle directory whose manifest.json names
// its disk (and kernel/initrd for direct boot), copied into the store atomically.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { LabContext } from "../context.js";
import { NotFoundError, UsageError } from "../errors.js";
import { readText } from "../state/atomic.js";
import { validateImageName } from "../state/names.js";
import { installStaged } from "./install.js";
import {
  BundleManifestSchema,
  type ImageManifest,
  MANIFEST_FILE,
  manifestFiles,
  parseManifestText,
} from "./manifest.js";
import { checkImageDisk } from "./qemu-img.js";
import { findImage, type ResolvedImage } from "./resolve.js";
import { createStaging } from "./staging.js";
import { assertUnused } from "./usage.js";

export interface ImportResult extends ResolvedImage {
  /** false when the same version (bundle) or the same disk (sha256) was already there. */
  changed: boolean;
}

interface ImportPlan {
  name: string;
  /** Directory the files are copied from. */
  from: string;
  /** Source file name → store file name; the disk first. */
  files: [string, string][];
  manifest: Omit<ImageManifest, "importedAt">;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Names a file in messages as the client knows it (labd reads an uploaded copy). */
type Label = (file: string) => string;

async function planDisk(
  ctx: LabContext,
  file: string,
  name: string | undefined,
  label: Label,
): Promise<ImportPlan> {
  if (!name)
    throw new UsageError("--name is required when importing a disk file", {
      hint: "lab image import disk.qcow2 --name NAME",
    });
  validateImageName(name);
  const format = await checkImageDisk(ctx.host, file, label(file));
  const disk = `disk.${format}`;
  return {
    name,
    from: path.dirname(file),
    files: [[path.basename(file), disk]],
    manifest: { name, format, disk, fleet: false },
  };
}

async function planBundle(
  ctx: LabContext,
  dir: string,
  name: string | undefined,
  label: Label,
): Promise<ImportPlan> {
  const where = label(path.join(dir, MANIFEST_FILE));
  const text = await readText(path.join(dir, MANIFEST_FILE));
  if (text === undefined) {
    throw new UsageError(`${dir} is a directory without ${MANIFEST_FILE}`, {
      hint: "import a disk file (qcow2 or raw), or a bundle like the one scripts/build-test-image.mjs builds",
    });
  }
  const bundle = parseManifestText(BundleManifestSchema, text, where);
  const finalName = validateImageName(name || bundle.name);
  for (const f of manifestFiles(bundle)) {
    // lstat: a symlink in a bundle could point anywhere on the host; only plain files are copied.
    const s = await lstat(path.join(dir, f)).catch(() => undefined);
    if (!s?.isFile())
      throw new UsageError(`${label(path.join(dir, f))}, named by ${where}, is not a regular file`);
  }
  const format = await checkImageDisk(
    ctx.host,
    path.join(dir, bundle.disk),
    label(path.join(dir, bundle.disk)),
  );
  if (format !== bundle.format) {
    throw new UsageError(`${where} says the disk is ${bundle.format}, but ${bundle.disk} is ${format}`);
  }
  const { importedAt: _i, source: _s, ...rest } = bundle;
  return {
    name: finalName,
    from: dir,
    files: manifestFiles(bundle).map((f) => [f, f]),
    manifest: { ...rest, name: finalName },
  };
}

/** Same bundle version, or the same disk bytes, as the image already stored. */
async function isUnchanged(existing: ResolvedImage, plan: ImportPlan): Promise<boolean> {
  const old = existing.manifest;
  if (plan.manifest.version !== undefined) return old.version === plan.manifest.version;
  if (!old.source?.sha256) return false;
  return (await sha256File(path.join(plan.from, plan.files[0]![0]))) === old.source.sha256;
}

/**
 * Imports from a path labd itself made (an upload's directory: the CLI sends the files' bytes);
 * `origin` is the path the client named, for messages and the manifest's source.
 */
export async function importImage(
  ctx: LabContext,
  src: string,
  name?: string,
  origin?: string,
): Promise<ImportResult> {
  const source = path.resolve(src);
  const label: Label = (f) => (origin ? path.join(origin, path.relative(source, f)) : f);
  const st = await stat(source).catch(() => undefined);
  if (!st)
    throw new NotFoundError(`${source} does not exist`, {
      hint: "give a qcow2 or raw disk file, or a bundle directory",
    });
  const plan = st.isDirectory()
    ? await planBundle(ctx, source, name, label)
    : await planDisk(ctx, source, name, label);
  const existing = await findImage(ctx.paths, plan.name).catch(() => undefined);
  if (existing && (await isUnchanged(existing, plan))) return { ...existing, changed: false };
  if (existing) await assertUnused(ctx, plan.name, "replace"); // fail before copying; checked again at the swap
  const staging = await createStaging(ctx.paths, plan.name);
  try {
    for (const [from, to] of plan.files) {
      ctx.progress?.(`copying ${from}`);
      await ctx.host.run(["cp", "--sparse=auto", "--", path.join(plan.from, from), staging.file(to)]);
    }
    const diskName = plan.files[0]![1];
    const sha256 = await sha256File(staging.file(diskName));
    const manifest: ImageManifest = {
      ...plan.manifest,
      source: { kind: "import", url: pathToFileURL(origin ?? source).href, sha256 },
      importedAt: new Date().toISOString(),
    };
    const image = await installStaged(ctx, staging, manifest);
    ctx.events.emit("image.imported", {
      image: plan.name,
      version: manifest.version,
      from: origin ?? source,
    });
    return { ...image, changed: true };
  } finally {
    await staging.discard();
  }
}
