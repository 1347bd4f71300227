// The files of an image import, read here with the caller's rights and uploaded by the typed
// client (client/api.ts); labd never opens a path a client names.
import { lstat, readFile } from "node:fs/promises";
import path from "node:path";
import { NotFoundError, UsageError } from "../errors.js";
import { BundleManifestSchema, MANIFEST_FILE, manifestFiles, parseManifestText } from "../image/manifest.js";
import type { UploadFile } from "./upload-body.js";

/** A disk file, or a bundle directory: its manifest.json and the files it names. */
export async function imageFiles(source: string): Promise<UploadFile[]> {
  const st = await lstat(source).catch(() => undefined);
  if (!st)
    throw new NotFoundError(`${source} does not exist`, {
      hint: "give a qcow2 or raw disk file, or a bundle directory",
    });
  if (!st.isDirectory()) return [{ name: "disk", file: source }];
  const where = path.join(source, MANIFEST_FILE);
  const text = await readFile(where, "utf8").catch(() => undefined);
  if (text === undefined)
    throw new UsageError(`${source} is a directory without ${MANIFEST_FILE}`, {
      hint: "import a disk file (qcow2 or raw), or a bundle like the one scripts/build-test-image.mjs builds",
    });
  const bundle = parseManifestText(BundleManifestSchema, text, where);
  const files: UploadFile[] = [{ name: MANIFEST_FILE, file: where }];
  for (const f of manifestFiles(bundle)) {
    // A symlink in a bundle could point anywhere: only plain files are sent.
    const s = await lstat(path.join(source, f)).catch(() => undefined);
    if (!s?.isFile())
      throw new UsageError(`${path.join(source, f)}, named by ${where}, is not a regular file`);
    files.push({ name: f, file: path.join(source, f) });
  }
  return files;
}
