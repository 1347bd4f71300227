// A daemon route bound to its API schemas: the handler gets the parsed body and must return
// something the answer schema takes (checked by the compiler here and by the server at run time).
import type { z } from "zod";
import type { ApiRoute } from "../api/route.js";
import type { RequestContext, Route } from "./server.js";

export function typedRoute<B extends z.ZodType, A extends z.ZodType>(
  api: ApiRoute<B, A>,
  handler: (req: RequestContext, body: z.output<B>) => Promise<z.input<A>>,
  extra: { live?: boolean; upload?: boolean } = {},
): Route {
  return {
    method: api.method,
    pattern: api.path,
    api: api as ApiRoute,
    handler: (req) => handler(req, req.body as z.output<B>),
    ...extra,
  };
}
