// Temp files of the mirror: ".tmp-<pid>-<random>-<name>" beside the artifacts (artifact names
// never start with a dot), so the final rename is atomic. Those of a dead process are removed by
// the next add or import.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { tempArea } from "../state/atomic.js";
import type { LabPaths } from "../state/paths.js";

const area = (p: LabPaths) => tempArea(p.mirrorDir);

export interface TempFile {
  file: string;
  discard(): Promise<void>;
}

export async function newTempFile(p: LabPaths, name: string): Promise<TempFile> {
  await mkdir(p.mirrorDir, { recursive: true, mode: 0o755 });
  await cleanStaleTemp(p);
  const file = area(p).claim(name);
  return { file, discard: () => area(p).release(file) };
}

export function cleanStaleTemp(p: LabPaths): Promise<string[]> {
  return area(p).cleanStale();
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
