// Whole-image atomic writes: an image is built in $LAB_HOME/images/.tmp-<pid>-<random>-<name>
// and renamed into place, so a crash or an error never leaves half an image. Temp directories
// of a dead process (or forgotten by this one) are removed by the next operation.
import { mkdir, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { fsyncPath, swapDirectory, tempArea } from "../state/atomic.js";
import type { LabPaths } from "../state/paths.js";

const area = (p: LabPaths) => tempArea(p.imagesDir);

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

/** Makes the staged files durable, then swaps the staging dir in for the image (if any). */
export async function commitStaging(p: LabPaths, staging: Staging, name: string): Promise<void> {
  for (const f of await readdir(staging.dir)) await fsyncPath(path.join(staging.dir, f));
  await swapDirectory(staging.dir, p.image(name).dir);
}

/** Deletes an image directory by first renaming it away, so a crash mid-delete leaves only temp. */
export async function deleteImageDir(p: LabPaths, name: string): Promise<void> {
  const gone = area(p).claim(`rm-${name}`);
  await rename(p.image(name).dir, gone);
  await area(p).release(gone);
}
