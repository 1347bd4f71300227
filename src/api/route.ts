// One API route as data: method, path, the request it takes and the answer it gives, each a zod
// schema. labd validates requests and answers with these; the typed client sends and parses with them.
import type { z } from "zod";

export interface ApiRoute<B extends z.ZodType = z.ZodType, A extends z.ZodType = z.ZodType> {
  method: "GET" | "POST" | "DELETE";
  /** With `:name` parameters. */
  path: string;
  summary: string;
  /** The JSON body (POST) or the upload's fields. */
  body?: B;
  /** Query parameters, each a string. */
  query?: z.ZodType;
  answer: A;
}

/** One route with its schemas, typed as given. */
export function route<B extends z.ZodType, A extends z.ZodType>(r: ApiRoute<B, A>): ApiRoute<B, A> {
  return r;
}

/** What finds a route (api/paths.ts): no schema, so no zod. */
export type RoutePath = Pick<ApiRoute, "method" | "path" | "summary">;

export interface RouteSchemas {
  body?: z.ZodType;
  query?: z.ZodType;
  answer: z.ZodType;
}

/** A resource's routes: each path of `paths` with its schemas (one for every path, none more). */
export function withSchemas<
  P extends Record<string, RoutePath>,
  S extends { [K in keyof P]: RouteSchemas } & Record<Exclude<keyof S, keyof P>, never>,
>(paths: P, schemas: S): { [K in keyof P]: P[K] & S[K] } {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(paths)) out[k] = { ...paths[k], ...schemas[k] };
  return out as { [K in keyof P]: P[K] & S[K] };
}

/** A path with its `:name` parameters filled in (each percent-encoded). */
export function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined) throw new Error(`no value for :${k} in ${path}`);
    return encodeURIComponent(v);
  });
}
