// Whole-image atomic writes: an image is built in $LAB_HOME/images/.tmp-<pid>-<random>-<name>
// and renamed into place, so a crash or an error never leaves half an image. Temp directories
// of a dead process (or forgotten by this one) are removed by the next operation.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { LabPaths } from "../state/paths.js";
import { TEMP_PREFIX } from "./resolve.js";

/** Temp dirs this process is using right now: never stale, whatever their age. */
const active = new Set<string>();

export interface Staging {
  dir: string;
  file(name: string): string;
  discard(): Promise<void>;
}

function tempDir(p: LabPaths, label: string): string {
  return path.join(p.imagesDir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}-${label}`);
}

export async function createStaging(p: LabPaths, name: string): Promise<Staging> {
  await mkdir(p.imagesDir, { recursive: true, mode: 0o755 });
  await cleanStaleTemp(p);
  const dir = tempDir(p, name);
  await mkdir(dir, { mode: 0o755 });
  active.add(dir);
  return {
    dir,
    file: (f) => path.join(dir, f),
    discard: async () => {
      await rm(dir, { recursive: true, force: true });
      active.delete(dir);
    },
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temp dirs left by a crash; returns their names. */
export async function cleanStaleTemp(p: LabPaths): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await readdir(p.imagesDir).catch(() => [] as string[])) {
    if (!n.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(p.imagesDir, n);
    const pid = Number(/^\.tmp-(\d+)-/.exec(n)?.[1]);
    const stale = !Number.isInteger(pid) || (pid === process.pid ? !active.has(dir) : !pidAlive(pid));
    if (!stale) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
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
  const old = tempDir(p, `old-${name}`);
  active.add(old);
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
    active.delete(staging.dir);
    await fsyncPath(p.imagesDir);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } finally {
    active.delete(old);
  }
}

/** Deletes an image directory by first renaming it away, so a crash mid-delete leaves only temp. */
export async function deleteImageDir(p: LabPaths, name: string): Promise<void> {
  const gone = tempDir(p, `rm-${name}`);
  await rename(p.image(name).dir, gone);
  await rm(gone, { recursive: true, force: true });
}
