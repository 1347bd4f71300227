// labd's side of an upload (image import, mirror import): the files' bytes written into a
// directory labd made, as the body format in api/upload.ts lays them out.
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { MAX_HEADER_BYTES, parseUploadHeader, type UploadHeader } from "../api/upload.js";
import { UsageError } from "../errors.js";

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
