// Whole-image atomic writes: an image is built in $LAB_HOME/images/.tmp-<pid>-<random>-<name>
// and renamed into place, so a crash or an error never leaves half an image. Temp directories
// of a dead process (or forgotten by this one) are removed by the next operation.
import { mkdir, open, readdir, rename } from "node:fs/promises";
import path from "node:path";
import type { LabPaths } from "../state/paths.js";
import { TempArea } from "../state/temp.js";

const areas = new Map<string, TempArea>();
const area = (p: LabPaths) => {
  const a = areas.get(p.imagesDir) ?? new TempArea(p.imagesDir);
  areas.set(p.imagesDir, a);
  return a;
};

export interface Staging {
  dir: string;
  file(name: string): string;
  discard(): Promise<void>;
}

export async function createStaging(p: LabPaths, name: string): Promise<Staging> {
  await mkdir(p.imagesDir, { recursive: true, mode: 0o755 });
  await cleanStaleTemp(p);
  const dir = area(p).claim(name);
  await mkdir(dir, { mode: 0o755 });
  return {
    dir,
    file: (f) => path.join(dir, f),
    discard: () => area(p).release(dir),
  };
}

/** Removes temp dirs left by a crash; returns their names. */
export function cleanStaleTemp(p: LabPaths): Promise<string[]> {
  return area(p).cleanStale();
}

async function fsyncPath(file: string, flags = "r"): Promise<void> {
  const fh = await open(file, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes the staged files durable, then swaps the staging dir in for the image (if any). */
export async function commitStaging(p: LabPaths, staging: Staging, name: string): Promise<void> {
  for (const f of await readdir(staging.dir)) await fsyncPath(path.join(staging.dir, f));
  const target = p.image(name).dir;
  const old = area(p).claim(`old-${name}`);
  try {
    // Linux has no portable "exchange" rename in Node: between these two renames the image is
    // briefly absent, never half there.
    const hadOld = await rename(target, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return false;
        throw err;
      },
    );
    try {
      await rename(staging.dir, target);
    } catch (err) {
      if (hadOld) await rename(old, target).catch(() => undefined);
      throw err;
    }
    await fsyncPath(p.imagesDir);
    if (hadOld) await area(p).release(old);
  } finally {
    // On failure the old image was renamed back (or is left in place for the next cleanup).
    area(p).forget(old);
    area(p).forget(staging.dir);
  }
}

/** Deletes an image directory by first renaming it away, so a crash mid-delete leaves only temp. */
export async function deleteImageDir(p: LabPaths, name: string): Promise<void> {
  const gone = area(p).claim(`rm-${name}`);
  await rename(p.image(name).dir, gone);
  await area(p).release(gone);
}
