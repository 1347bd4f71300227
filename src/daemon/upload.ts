// Files a client hands to labd (image import, mirror import) arrive as bytes in the request, never
// as paths: labd runs as root, so a path would be opened with rights the client may not have.
// The body is one JSON line (fields and each file's name and size), then the files' bytes in order.
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { UsageError } from "../errors.js";

export const UPLOAD_CONTENT_TYPE = "application/x-lab-upload";
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_FILES = 16;
/** File names in an upload: plain names, as a bundle's manifest names its files. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface UploadHeader {
  fields: Record<string, unknown>;
  files: { name: string; size: number }[];
}

export function parseUploadHeader(line: string): UploadHeader {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new UsageError("upload header is not valid JSON");
  }
  const h = data as Partial<UploadHeader> | null;
  const fields = h?.fields;
  if (fields === null || typeof fields !== "object" || Array.isArray(fields))
    throw new UsageError("upload header needs fields (an object)");
  if (!Array.isArray(h?.files) || h.files.length === 0 || h.files.length > MAX_FILES)
    throw new UsageError(`upload header needs 1 to ${MAX_FILES} files`);
  const names = new Set<string>();
  for (const f of h.files as unknown[]) {
    const { name, size } = (f ?? {}) as { name?: unknown; size?: unknown };
    if (typeof name !== "string" || !FILE_NAME.test(name) || names.has(name))
      throw new UsageError(`upload file name ${JSON.stringify(name)} is not a plain, unique file name`);
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw new UsageError(`upload file ${name} has no valid size`);
    names.add(name);
  }
  return { fields: fields as Record<string, unknown>, files: h.files as UploadHeader["files"] };
}

/** A block of zeros is skipped, not written: raw disks are mostly holes, and stay sparse. */
function allZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Writes the upload's files into `dir` (which labd made and nobody else writes) and returns its
 * header. Ends in a UsageError when the body is malformed, short or too long.
 */
export async function receiveUpload(req: http.IncomingMessage, dir: string): Promise<UploadHeader> {
  let header: UploadHeader | undefined;
  let pending = Buffer.alloc(0);
  let index = 0;
  let left = 0;
  let fh: FileHandle | undefined;
  let offset = 0;
  const openNext = async () => {
    await fh?.close();
    fh = undefined;
    while (header && index < header.files.length) {
      const f = header.files[index]!;
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      fh = await open(path.join(dir, f.name), flags, 0o644);
      await fh.truncate(f.size);
      left = f.size;
      offset = 0;
      if (left > 0) return;
      await fh.close();
      fh = undefined;
      index++;
    }
  };
  try {
    // Not destroyed on an error: the server reads the rest, so the client gets the answer.
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      let data = chunk as Buffer;
      if (!header) {
        pending = Buffer.concat([pending, data]);
        const nl = pending.indexOf(0x0a);
        if (nl < 0) {
          if (pending.length > MAX_HEADER_BYTES) throw new UsageError("upload header is too long");
          continue;
        }
        header = parseUploadHeader(pending.subarray(0, nl).toString("utf8"));
        data = pending.subarray(nl + 1);
        await openNext();
      }
      while (data.length > 0) {
        if (!fh) throw new UsageError("upload has more bytes than its header announced");
        const part = data.subarray(0, left);
        if (!allZero(part)) await fh.write(part, 0, part.length, offset);
        offset += part.length;
        left -= part.length;
        data = data.subarray(part.length);
        if (left === 0) {
          index++;
          await openNext();
        }
      }
    }
    if (!header) throw new UsageError("upload ended before its header");
    if (index < header.files.length)
      throw new UsageError(`upload ended early: ${header.files[index]!.name} is incomplete`);
    return header;
  } finally {
    await fh?.close();
  }
}
