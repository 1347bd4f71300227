// The upload body (image import, mirror import): files travel as bytes in the request, never as
// paths, because labd runs as root and a path would be opened with rights the client may not have.
// The body is one JSON line (fields and each file's name and size), then the files' bytes in order.
// The client writes it (client/upload-body.ts); labd reads it (daemon/upload.ts).
import { UsageError } from "../errors.js";

export const UPLOAD_CONTENT_TYPE = "application/x-lab-upload";
export const MAX_HEADER_BYTES = 64 * 1024;
const MAX_FILES = 16;
/** File names in an upload: plain names, as a bundle's manifest names its files. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface UploadHeader {
  fields: Record<string, unknown>;
  files: { name: string; size: number }[];
}

/** The header line that starts an upload body. */
export function uploadHeaderLine(header: UploadHeader): string {
  return `${JSON.stringify(header)}\n`;
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
