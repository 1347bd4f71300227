// Reads the image store: $LAB_HOME/images/<name>/manifest.json plus the files it names.
// A broken image directory is reported with its problems; it never breaks a listing.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { BrokenImageError, NotFoundError } from "../errors.js";
import { readText } from "../state/atomic.js";
import { validateImageName } from "../state/names.js";
import type { LabPaths } from "../state/paths.js";
import { type ImageManifest, ImageManifestSchema, manifestFiles, parseManifestText } from "./manifest.js";

export interface ResolvedImage {
  name: string;
  manifest: ImageManifest;
  dir: string;
  diskPath: string;
  kernelPath?: string;
  initrdPath?: string;
  sizeBytes: number;
  /** Set only by listImages, for a directory that is not a usable image. */
  problems?: string[];
}

/** Temporary directories (staging, removal) start with this; they are never images. */

const notFoundHint = (name: string) =>
  `see 'lab image list'; get it with 'lab image pull ${name}' (catalog: 'lab image catalog') or 'lab image import PATH --name ${name}'`;

async function readImageDir(p: LabPaths, name: string): Promise<ResolvedImage> {
  const files = p.image(name);
  const text = await readText(files.manifest);
  if (text === undefined) {
    const dirExists = await stat(files.dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!dirExists) throw new NotFoundError(`no image named ${name}`, { hint: notFoundHint(name) });
    throw broken(name, `${files.manifest} is missing`);
  }
  let manifest: ImageManifest;
  try {
    manifest = parseManifestText(ImageManifestSchema, text, files.manifest);
  } catch (err) {
    throw broken(name, (err as Error).message);
  }
  let sizeBytes = 0;
  for (const f of manifestFiles(manifest)) {
    const s = await stat(path.join(files.dir, f)).catch(() => undefined);
    if (!s?.isFile()) throw broken(name, `${f} named by its manifest is missing`);
    sizeBytes += s.size;
  }
  const at = (f?: string) => (f ? path.join(files.dir, f) : undefined);
  return {
    name,
    manifest,
    dir: files.dir,
    diskPath: path.join(files.dir, manifest.disk),
    kernelPath: at(manifest.boot?.kernel),
    initrdPath: at(manifest.boot?.initrd),
    sizeBytes,
  };
}

function broken(name: string, why: string): BrokenImageError {
  return new BrokenImageError(`image ${name} is broken: ${why}`, {
    hint: `remove it with 'lab image rm ${name}' and pull or import it again`,
  });
}

export async function resolveImage(p: LabPaths, name: string): Promise<ResolvedImage> {
  validateImageName(name);
  return readImageDir(p, name);
}

/** The image, or undefined when there is none (broken ones still throw). */
export async function findImage(p: LabPaths, name: string): Promise<ResolvedImage | undefined> {
  try {
    return await resolveImage(p, name);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function listImages(p: LabPaths): Promise<ResolvedImage[]> {
  const entries = await readdir(p.imagesDir, { withFileTypes: true }).catch(() => []);
  const out: ResolvedImage[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    try {
      validateImageName(e.name);
      out.push(await readImageDir(p, e.name));
    } catch (err) {
      out.push(brokenEntry(p, e.name, (err as Error).message));
    }
  }
  return out;
}

function brokenEntry(p: LabPaths, name: string, problem: string): ResolvedImage {
  return {
    name,
    manifest: { name, format: "raw", disk: "", fleet: false, importedAt: "" },
    dir: p.image(name).dir,
    diskPath: "",
    sizeBytes: 0,
    problems: [problem],
  };
}
