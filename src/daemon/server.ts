// labd's control API: HTTP/JSON over a unix socket. Requests are size-limited and validated;
// a malformed one gets a clear error and the server keeps serving. Operations run to the end
// even when the client goes away, so a disconnect never leaves half an operation.
import http from "node:http";
import { API_DIGEST } from "../api/digest.js";
import type { ApiRoute } from "../api/route.js";
import { parseRequest } from "../api/shape.js";
import { UPLOAD_CONTENT_TYPE, type UploadHeader } from "../api/upload.js";
import {
  type ErrorShape,
  InternalError,
  type LabError,
  TooLargeError,
  toLabError,
  UsageError,
} from "../errors.js";
import { firstProblemText } from "../field-problems.js";
import { receiveUpload } from "./upload.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/** No request the CLI sends nests deeper; a deeper body is refused before it is parsed. */
export const MAX_JSON_DEPTH = 64;
/** Past this, an oversized body is cut off instead of read to its end to be answered. */
const MAX_DISCARD_BYTES = 64 * MAX_BODY_BYTES;

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
  /** Upload routes only: writes the request's files into `dir` and returns their header. */
  receive: (dir: string) => Promise<UploadHeader>;
}

export type Handler = (ctx: RequestContext) => Promise<unknown>;

export interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: string;
  handler: Handler;
  /** Keeps the response open: the handler writes events until the client disconnects. */
  live?: boolean;
  /** The body is an upload (files' bytes), read by the handler through `receive`. */
  upload?: boolean;
  /** The route's schemas: labd refuses a request that does not fit and checks its own answer. */
  api?: ApiRoute;
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

/** The deepest nesting of arrays and objects in JSON text, counted without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function parseBody(text: string): Record<string, unknown> {
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    throw new UsageError(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError("request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new UsageError("request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

/**
 * Reads a JSON body. One that is too large is still read (and dropped) to its end, so the client
 * gets a 413 answer instead of a reset connection while it is still writing.
 */
function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DISCARD_BYTES) req.destroy();
      else if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES)
        return reject(
          new TooLargeError(
            `request body of ${size} bytes is larger than the API takes (${MAX_BODY_BYTES})`,
            {
              hint: "large files are streamed to labd by the CLI; fields of a request are small",
            },
          ),
        );
      if (size === 0) return resolve({});
      try {
        resolve(parseBody(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        reject(err);
      }
    });
    req.on("error", reject);
  });
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UsageError(`malformed percent-encoding in API path segment ${JSON.stringify(raw)}`);
  }
}

function statusFor(err: LabError): number {
  const status = new Map([
    ["usage", 400],
    ["too_large", 413],
    ["not_found", 404],
    ["conflict", 409],
    ["permission", 403],
  ]);
  return status.get(err.code) ?? 500;
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
        params[k] = decodeParam(m[i + 1]!);
      });
      if (route.upload && !(req.headers["content-type"] ?? "").startsWith(UPLOAD_CONTENT_TYPE))
        throw new UsageError(
          `${url.pathname} takes an upload (${UPLOAD_CONTENT_TYPE}), as the lab CLI sends`,
        );
      const raw = req.method === "GET" || route.upload ? {} : await readBody(req);
      const where = `${req.method} ${route.pattern}`;
      const body = route.api?.body && !route.upload ? parseRequest(route.api.body, raw, where) : raw;
      if (route.api?.query) parseRequest(route.api.query, Object.fromEntries(url.searchParams), where);
      const write = (event: Record<string, unknown>) => {
        if (res.destroyed || res.writableEnded) return;
        if (!res.headersSent) res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(`${JSON.stringify(event)}\n`);
      };
      const ctx: RequestContext = {
        params,
        query: url.searchParams,
        body: body as Record<string, unknown>,
        stream,
        write,
        emit: (event) => {
          if (stream) write({ type: "progress", ...event });
        },
        onClose: (fn) => res.on("close", fn),
        receive: (dir) => receiveUpload(req, dir),
      };
      const result = answerOf(route, await route.handler(ctx));
      if (route.live) return;
      // Tells a client with the same schemas that it need not check this answer again.
      const checked = route.api ? API_DIGEST : undefined;
      send(200, stream ? { type: "result", result, checked } : { result, checked });
    } catch (err) {
      // Read what the client still sends (up to a bound), so it gets this answer, not a reset.
      if (!req.complete && !req.destroyed) await drain(req);
      fail(err);
    }
  });
}

/**
 * Calls labd's own routes in process, as a client over the socket would (the same matching,
 * request validation and answer shape, without a stream): the web page's state and actions use it.
 */
export function localCaller(routes: Route[]) {
  const compiled = routes.map(compile);
  return async (method: "GET" | "POST", path: string, raw: Record<string, unknown> = {}) => {
    const url = new URL(path, "http://labd");
    const route = compiled.find((r) => r.method === method && r.regex.test(url.pathname));
    if (!route || route.upload || route.live)
      throw new UsageError(`no such API path ${method} ${url.pathname}`);
    const m = route.regex.exec(url.pathname)!;
    const params: Record<string, string> = {};
    route.keys.forEach((k, i) => {
      params[k] = decodeParam(m[i + 1]!);
    });
    const where = `${method} ${route.pattern}`;
    const body = route.api?.body ? parseRequest(route.api.body, raw, where) : raw;
    const none = () => {};
    const result = answerOf(
      route,
      await route.handler({
        params,
        query: url.searchParams,
        body: body as Record<string, unknown>,
        stream: false,
        write: none,
        emit: none,
        onClose: none,
        receive: () => Promise.reject(new UsageError(`${where} takes no upload in process`)),
      }),
    );
    // The same plain data a socket client would get.
    return JSON.parse(JSON.stringify(result ?? null)) as unknown;
  };
}

/** The handler's result in the route's documented shape (missing values become null). */
function answerOf(route: Route, result: unknown): unknown {
  if (!route.api || route.live) return result;
  const parsed = route.api.answer.safeParse(result);
  if (parsed.success) return parsed.data;
  throw new InternalError(
    `labd's answer to ${route.method} ${route.pattern} does not fit its schema: ${firstProblemText(parsed.error)}`,
  );
}

function drain(req: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_DISCARD_BYTES) {
        req.destroy();
        resolve();
      }
    });
    req.on("end", resolve);
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.resume();
  });
}
