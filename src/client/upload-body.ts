// The CLI's side of an upload: each file opened once, here, with the caller's own rights, and its
// bytes streamed after a one-line JSON header (the format is api/upload.ts).
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type http from "node:http";
import { UPLOAD_CONTENT_TYPE } from "../api/upload.js";
import { NotFoundError, PermissionError, UsageError } from "../errors.js";

export interface UploadFile {
  /** The name the daemon stores it under. */
  name: string;
  /** Path on this host, opened by this process. */
  file: string;
}

export interface OpenedFile {
  name: string;
  file: string;
  handle: FileHandle;
  size: number;
}

export async function openUploadFiles(files: UploadFile[]): Promise<OpenedFile[]> {
  const opened: OpenedFile[] = [];
  try {
    for (const f of files) {
      const handle = await open(f.file, constants.O_RDONLY).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") throw new NotFoundError(`${f.file} does not exist`);
        if (err.code === "EACCES" || err.code === "EPERM")
          throw new PermissionError(`you cannot read ${f.file}`, {
            hint: "lab sends only files you may read yourself",
          });
        throw new UsageError(`cannot open ${f.file}: ${err.message}`);
      });
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        throw new UsageError(`${f.file} is not a regular file`);
      }
      opened.push({ ...f, handle, size: st.size });
    }
    return opened;
  } catch (err) {
    await Promise.all(opened.map((o) => o.handle.close().catch(() => undefined)));
    throw err;
  }
}

/** A request body: the header, then every file's bytes (exactly the size announced). */
export class UploadBody {
  readonly contentType = UPLOAD_CONTENT_TYPE;

  constructor(
    private readonly header: string,
    private readonly files: OpenedFile[],
    private readonly onBytes: (bytes: number) => void,
  ) {}

  get length(): number {
    return Buffer.byteLength(this.header) + this.files.reduce((n, f) => n + f.size, 0);
  }

  pipeTo(req: http.ClientRequest, fail: (err: Error) => void): void {
    this.write(req).catch(fail);
  }

  private async write(req: http.ClientRequest): Promise<void> {
    let stopped = false;
    req.on("response", () => {
      stopped = true; // labd answered early (an error): stop sending
    });
    req.on("close", () => {
      stopped = true;
    });
    const send = (chunk: Buffer | string) =>
      new Promise<void>((resolve) => {
        if (req.write(chunk)) return resolve();
        req.once("drain", resolve);
        req.once("close", resolve);
      });
    await send(this.header);
    let sent = 0;
    let reported = 0;
    const buf = Buffer.alloc(1 << 20);
    for (const f of this.files) {
      let left = f.size;
      let at = 0;
      while (left > 0 && !stopped) {
        const { bytesRead } = await f.handle.read(buf, 0, Math.min(buf.length, left), at);
        if (bytesRead === 0) throw new UsageError(`${f.file} shrank while it was being sent`);
        await send(Buffer.from(buf.subarray(0, bytesRead)));
        at += bytesRead;
        left -= bytesRead;
        sent += bytesRead;
        if (sent - reported >= 16 << 20) {
          reported = sent;
          this.onBytes(sent);
        }
      }
    }
    if (!stopped) this.onBytes(sent);
    req.end();
  }
}

export function uploadBody(
  header: string,
  files: OpenedFile[],
  onBytes: (bytes: number) => void,
): UploadBody {
  return new UploadBody(header, files, onBytes);
}
