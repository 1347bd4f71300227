// Temp files of the mirror: ".tmp-<pid>-<random>-<name>" beside the artifacts (artifact names
// never start with a dot), so the final rename is atomic. Those of a dead process are removed by
// the next add or import.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { LabPaths } from "../state/paths.js";

/** Temp files this process is writing right now: never stale. */
const active = new Set<string>();

export interface TempFile {
  file: string;
  discard(): Promise<void>;
}

export async function newTempFile(p: LabPaths, name: string): Promise<TempFile> {
  await mkdir(p.mirrorDir, { recursive: true, mode: 0o755 });
  await cleanStaleTemp(p);
  const file = p.mirror.temp(`${process.pid}-${randomBytes(4).toString("hex")}-${name}`);
  active.add(file);
  return {
    file,
    discard: async () => {
      await rm(file, { force: true });
      active.delete(file);
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

export async function cleanStaleTemp(p: LabPaths): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await readdir(p.mirrorDir).catch(() => [] as string[])) {
    if (!n.startsWith(p.mirror.tempPrefix)) continue;
    const file = path.join(p.mirrorDir, n);
    const pid = Number(/^\.tmp-(\d+)-/.exec(n)?.[1]);
    const stale = !Number.isInteger(pid) || (pid === process.pid ? !active.has(file) : !pidAlive(pid));
    if (!stale) continue;
    await rm(file, { force: true });
    removed.push(n);
  }
  return removed;
}

export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies `from` to `to` (created 0600 until committed) and returns the sha256 of the bytes copied. */
export async function copyWithDigest(from: string, to: string): Promise<{ bytes: number; digest: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(from), meter, createWriteStream(to, { mode: 0o600, flags: "wx" }));
  return { bytes, digest: hash.digest("hex") };
}
