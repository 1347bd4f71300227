// Reading a lab file: YAML → schema-checked LabFile, with every problem named by its field path
// (`machines[1].count: expected a positive integer`) so the user can find it without a line map.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { NotFoundError, UsageError } from "../errors.js";
import { parseYamlData } from "../yaml-data.js";
import { type LabFile, LabFileSchema } from "./schema.js";

export const DEFAULT_LAB_FILE = "lab.yaml";

export interface LoadedLab {
  /** Absolute path of the file; relative paths inside it are resolved against its directory. */
  file: string;
  dir: string;
  lab: LabFile;
}

export interface FieldProblem {
  path: string;
  message: string;
}

/** `["machines", 1, "count"]` → `machines[1].count`. */
export function formatFieldPath(parts: readonly PropertyKey[]): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out || "(top level)";
}

function article(type: string): string {
  const named: Record<string, string> = { object: "a mapping", array: "a list", number: "a number" };
  return named[type] ?? `a ${type}`;
}

/** One zod issue as field problems, worded for people editing the file. */
export function issueProblems(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => ({ path: formatFieldPath([...issue.path, k]), message: "unknown key" }));
  }
  if (issue.code === "invalid_type" && /^Invalid input/.test(issue.message)) {
    return [{ path: formatFieldPath(issue.path), message: `expected ${article(issue.expected)}` }];
  }
  return [{ path: formatFieldPath(issue.path), message: issue.message }];
}

/** At most this many problems are listed; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 20;

/** Problems as one error: the first on the headline line, the first few listed below it. */
export function problemsError(source: string, problems: FieldProblem[], hint?: string): UsageError {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
  const lines = listed.map((p) => `  ${p.path}: ${p.message}`);
  const more = problems.length - listed.length;
  if (more > 0) lines.push(`  ... and ${more} more`);
  const message =
    problems.length === 1
      ? `${source}: ${lines[0]!.trim()}`
      : `${source}: ${problems.length} problems\n${lines.join("\n")}`;
  return new UsageError(message, {
    hint: hint ?? "fix the file; its schema is lab.schema.json (editors can use it for completion)",
    details: { file: source, problems: listed, ...(more > 0 ? { moreProblems: more } : {}) },
  });
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
