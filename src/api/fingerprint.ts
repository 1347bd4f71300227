// The digest of the whole API's schemas (every route's method, path, request and answer as JSON
// Schema). `npm run schema` writes it to api/digest.ts; a unit test fails when that file is stale.
import { createHash } from "node:crypto";
import { z } from "zod";
import { api } from "./index.js";
import type { ApiRoute } from "./route.js";

const json = (s: z.ZodType | undefined, io: "input" | "output") =>
  s ? z.toJSONSchema(s, { io, unrepresentable: "any" }) : null;

export function apiDigest(): string {
  const routes = Object.entries(api).flatMap(([group, routes]) =>
    Object.entries(routes as Record<string, ApiRoute>).map(([name, r]) => ({
      route: `${group}.${name}`,
      method: r.method,
      path: r.path,
      body: json(r.body, "input"),
      query: json(r.query, "input"),
      answer: json(r.answer, "output"),
    })),
  );
  return createHash("sha256").update(JSON.stringify(routes)).digest("hex").slice(0, 32);
}
