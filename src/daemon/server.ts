// labd's control API: HTTP/JSON over a unix socket. Requests are size-limited and validated;
// a malformed one gets a clear error and the server keeps serving. Operations run to the end
// even when the client goes away, so a disconnect never leaves half an operation.
import http from "node:http";
import { type ErrorShape, type LabError, toLabError, UsageError } from "../errors.js";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Sends a progress event when the client asked for a stream (Accept: application/x-ndjson). */
  emit: (event: Record<string, unknown>) => void;
  /** Fires when the client disconnects (only streaming handlers such as `events -f` care). */
  onClose: (fn: () => void) => void;
  /** For handlers that stream until the client leaves. */
  stream: boolean;
  write: (event: Record<string, unknown>) => void;
}

export type Handler = (ctx: RequestContext) => Promise<unknown>;

export interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: string;
  handler: Handler;
  /** Keeps the response open: the handler writes events until the client disconnects. */
  live?: boolean;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.pattern.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
    keys.push(k);
    return "([^/]+)";
  });
  return { ...route, regex: new RegExp(`^${source}$`), keys };
}

function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new UsageError(`request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size === 0) return resolve({});
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          reject(new UsageError("request body must be a JSON object"));
        } else resolve(parsed as Record<string, unknown>);
      } catch {
        reject(new UsageError("request body is not valid JSON"));
      }
    });
    req.on("error", reject);
  });
}

function statusFor(err: LabError): number {
  return { usage: 400, not_found: 404, conflict: 409, permission: 403 }[err.code] ?? 500;
}

export function createServer(routes: Route[], log: (msg: string) => void): http.Server {
  const compiled = routes.map(compile);
  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://labd");
    const stream = /application\/x-ndjson/.test(req.headers.accept ?? "");
    const send = (status: number, payload: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      if (stream) {
        if (!res.headersSent) res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(`${JSON.stringify(payload)}\n`);
      } else {
        const body = JSON.stringify(payload);
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      }
    };
    const fail = (err: unknown) => {
      const e = toLabError(err);
      if (e.code === "internal")
        log(`internal error on ${req.method} ${url.pathname}: ${(err as Error)?.stack ?? err}`);
      const shape: ErrorShape = e.toJSON();
      send(statusFor(e), stream ? { type: "error", error: shape } : { error: shape });
    };
    try {
      const matches = compiled.filter((r) => r.regex.test(url.pathname));
      const route = matches.find((r) => r.method === req.method);
      if (!route) {
        throw matches.length > 0
          ? new UsageError(`method ${req.method} not allowed on ${url.pathname}`)
          : new UsageError(`no such API path ${url.pathname}`);
      }
      const m = route.regex.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1]!);
      });
      const body = req.method === "GET" ? {} : await readBody(req);
      const write = (event: Record<string, unknown>) => {
        if (res.destroyed || res.writableEnded) return;
        if (!res.headersSent) res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(`${JSON.stringify(event)}\n`);
      };
      const ctx: RequestContext = {
        params,
        query: url.searchParams,
        body,
        stream,
        write,
        emit: (event) => {
          if (stream) write({ type: "progress", ...event });
        },
        onClose: (fn) => res.on("close", fn),
      };
      const result = await route.handler(ctx);
      if (route.live) return;
      send(200, stream ? { type: "result", result } : { result });
    } catch (err) {
      fail(err);
    }
  });
}
