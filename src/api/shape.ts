// Building blocks of answer shapes: a value that may be missing is present as `null`, never absent.
import type { z } from "zod";
import { issueProblems, problemsError } from "../field-problems.js";

/** A field that is `null` when there is no value; absent or undefined input becomes null. */
export function nullable<T extends z.ZodType>(t: T) {
  return t.nullable().default(null);
}

/**
 * Parses a request body (or query, or upload fields) with its route's schema; a refused one is a
 * usage error naming each field, worded as lab's other validation errors are.
 */
export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  return problemsThrow(where, parsed.error);
}

function problemsThrow(where: string, error: z.ZodError): never {
  throw problemsError(
    `invalid request to ${where}`,
    error.issues.flatMap(issueProblems),
    "the lab CLI sends valid requests; the fields of each request are in docs/json-shapes.md",
  );
}
