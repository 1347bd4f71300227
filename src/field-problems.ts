// The one wording of validation problems: a zod issue (or a check of our own) as
// `machines[1].count: expected a positive integer`, so the user finds the field without a line map.
import type { z } from "zod";
import { UsageError } from "./errors.js";

export interface FieldProblem {
  path: string;
  message: string;
}

/** `["machines", 1, "count"]` → `machines[1].count`; keys that are not simple words are quoted. */
export function formatFieldPath(parts: readonly PropertyKey[]): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && !/^[A-Za-z0-9_-]+$/.test(p)) out += `[${JSON.stringify(p)}]`;
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

/** The first problem of a failed parse, for errors that name one field. */
export function firstProblem(error: { issues: readonly z.core.$ZodIssue[] }): FieldProblem {
  return error.issues.flatMap(issueProblems)[0] ?? { path: "(top level)", message: "unexpected shape" };
}

/** `path: message` of the first problem of a failed parse. */
export function firstProblemText(error: { issues: readonly z.core.$ZodIssue[] }): string {
  const p = firstProblem(error);
  return `${p.path}: ${p.message}`;
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
