// Small file helpers shared by the domain modules: atomic writes that report whether anything changed.
import { readFile } from "node:fs/promises";
import writeFileAtomic from "write-file-atomic";

export async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Writes atomically when the content differs; returns whether it changed. */
export async function writeIfChanged(file: string, content: string, mode = 0o644): Promise<boolean> {
  if ((await readText(file)) === content) return false;
  await writeFileAtomic(file, content, { fsync: true, mode });
  return true;
}
