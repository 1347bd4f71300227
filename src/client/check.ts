// Checking a request or an answer against its route's schemas, loaded with the schemas themselves
// (client/api.ts): a call whose answer labd already checked with the same schemas needs neither.
import type { ApiRoute } from "../api/route.js";
import { parseRequest } from "../api/shape.js";
import { DaemonUnavailableError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";

/** The answer in the route's documented shape; another shape means labd is another version. */
export function parseAnswer(r: ApiRoute, value: unknown): unknown {
  const parsed = r.answer.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DaemonUnavailableError(
    `labd answered ${r.method} ${r.path} in a shape this lab does not know (${firstProblemText(parsed.error)})`,
    { hint: "labd and the CLI are different versions: restart labd with 'lab daemon stop'" },
  );
}

/** The request body as the schema makes it; a refused one is a usage error naming the field. */
export function checkRequest(r: ApiRoute, value: unknown): unknown {
  return parseRequest(r.body!, value, `${r.method} ${r.path}`);
}
