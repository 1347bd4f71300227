// Reading a lab file: YAML → schema-checked LabFile, with every problem named by its field path
// (`machines[1].count: expected a positive integer`) so the user can find it without a line map.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { NotFoundError, UsageError } from "../../errors.js";
import { issueProblems, problemsError } from "../../field-problems.js";
import { parseYamlData } from "../../yaml-data.js";
import { type LabFile, LabFileSchema } from "./schema.js";

export const DEFAULT_LAB_FILE = "lab.yaml";

export interface LoadedLab {
  /** Absolute path of the file; relative paths inside it are resolved against its directory. */
  file: string;
  dir: string;
  lab: LabFile;
}

/** Parses and validates the text of a lab file. Pure: `source` only labels messages. */
export function parseLabText(text: string, source: string): LabFile {
  const data = parseYamlData(text, source);
  if (data === undefined || data === null) {
    throw new UsageError(`${source}: the file is empty`, {
      hint: "declare networks, images and machines (see lab.yaml at the top of the repository)",
    });
  }
  const parsed = LabFileSchema.safeParse(data);
  if (!parsed.success) throw problemsError(source, parsed.error.issues.flatMap(issueProblems));
  return parsed.data;
}

export async function loadLabFile(file = DEFAULT_LAB_FILE): Promise<LoadedLab> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new NotFoundError(`no lab file ${file}`, {
        hint: "pass one with -f FILE (examples/demo.yaml is the offline demo)",
      });
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return { file: abs, dir: path.dirname(abs), lab: parseLabText(text, file) };
}
