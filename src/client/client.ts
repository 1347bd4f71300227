// The CLI's side of the control socket: JSON requests, streamed progress, and starting labd
// on demand when nothing answers.
import { mkdirSync, openSync, readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { DaemonUnavailableError, type ErrorShape, errorFromShape, PermissionError } from "../errors.js";
import { type LabDirs, labDirs, paths } from "../state/paths.js";
import type { UploadBody, UploadFile } from "./upload-body.js";

export interface CallOptions {
  onProgress?: (event: Record<string, unknown>) => void;
  /** Do not start the daemon if it is not running. */
  noAutostart?: boolean;
}

/** A request's body: JSON, or an upload's header and files (sent as they are read). */
type Payload = { json: unknown } | { upload: UploadBody } | undefined;

/** An answer, and the digest of the schemas labd checked it against (none: not checked). */
export interface Answer<T> {
  result: T;
  checked?: string;
}

export class LabClient {
  readonly socket: string;
  /** `defaults` apply to every call (labd's own web page and tab completion never start labd). */
  constructor(
    readonly dirs: LabDirs = labDirs(),
    readonly defaults: CallOptions = {},
  ) {
    this.socket = paths(dirs).socket;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    return (await this.request<T>(method, path, body, opts)).result;
  }

  /** As call, with what labd says it checked the answer against. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: CallOptions = {},
  ): Promise<Answer<T>> {
    return this.send<T>(method, path, body === undefined ? undefined : { json: body }, opts);
  }

  private async send<T>(
    method: string,
    path: string,
    body: Payload,
    callOpts: CallOptions,
  ): Promise<Answer<T>> {
    const opts = { ...this.defaults, ...callOpts };
    try {
      return await this.raw<T>(method, path, body, opts);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EACCES") {
        throw new PermissionError(`no permission to use ${this.socket}`, {
          hint: "run lab as root or as a member of the 'lab' group",
        });
      }
      if (code === "ECONNRESET" || code === "EPIPE") {
        throw new DaemonUnavailableError(`labd closed the connection during ${method} ${path}`, {
          hint: `see ${paths(this.dirs).daemonLog}`,
          cause: err,
        });
      }
      if (opts.noAutostart || (code !== "ENOENT" && code !== "ECONNREFUSED")) throw err;
      await this.startDaemon();
      return this.raw<T>(method, path, body, opts);
    }
  }

  /**
   * Sends files' bytes, read here with the caller's own rights (labd runs as root and must not
   * open a path for a client), with `fields`, as one upload request.
   */
  async upload<T = unknown>(
    path: string,
    fields: Record<string, unknown>,
    files: UploadFile[],
    opts: CallOptions = {},
  ): Promise<T> {
    // Only uploads need these.
    const { openUploadFiles, uploadBody } = await import("./upload-body.js");
    const { uploadHeaderLine } = await import("../api/upload.js");
    const opened = await openUploadFiles(files);
    try {
      const header = uploadHeaderLine({ fields, files: opened.map((f) => ({ name: f.name, size: f.size })) });
      const total = opened.reduce((n, f) => n + f.size, 0);
      const body = uploadBody(header, opened, (bytes) =>
        opts.onProgress?.({ message: "uploading", bytes, total }),
      );
      return (await this.send<T>("POST", path, { upload: body }, opts)).result;
    } finally {
      await Promise.all(opened.map((f) => f.handle.close().catch(() => undefined)));
    }
  }

  private raw<T>(method: string, path: string, body: Payload, opts: CallOptions): Promise<Answer<T>> {
    return new Promise((resolve, reject) => {
      const stream = body && "upload" in body ? body.upload : undefined;
      const payload = body && "json" in body ? JSON.stringify(body.json) : undefined;
      const req = http.request(
        {
          socketPath: this.socket,
          method,
          path,
          headers: {
            accept: opts.onProgress ? "application/x-ndjson" : "application/json",
            ...(payload
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
              : {}),
            ...(stream ? { "content-type": stream.contentType, "content-length": stream.length } : {}),
          },
        },
        (res) => {
          res.setEncoding("utf8");
          if ((res.headers["content-type"] ?? "").includes("ndjson")) {
            readLines(res, (event) => {
              if (event.type === "result") resolve(answer<T>(event));
              else if (event.type === "error") reject(errorFromShape(event.error as ErrorShape));
              else opts.onProgress?.(event);
            }).then(() => reject(new DaemonUnavailableError("labd closed the connection before answering")));
            return;
          }
          let text = "";
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            try {
              const parsed = JSON.parse(text) as { result?: T; checked?: unknown; error?: ErrorShape };
              if (parsed.error) reject(errorFromShape(parsed.error));
              else resolve(answer<T>(parsed));
            } catch {
              reject(new DaemonUnavailableError(`labd sent an unreadable answer (HTTP ${res.statusCode})`));
            }
          });
        },
      );
      req.on("error", reject);
      if (stream) stream.pipeTo(req, reject);
      else req.end(payload);
    });
  }

  /** Streams JSON events until the caller aborts (for `lab events -f`). */
  follow(path: string, onEvent: (e: Record<string, unknown>) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, method: "GET", path }, (res) => {
        res.setEncoding("utf8");
        readLines(res, onEvent).then(resolve);
      });
      req.on("error", reject);
      req.end();
    });
  }

  async startDaemon(): Promise<void> {
    const p = paths(this.dirs);
    mkdirSync(p.run, { recursive: true, mode: 0o755 });
    const main = fileURLToPath(new URL("../cli/main.js", import.meta.url));
    const out = openSync(p.daemonLog, "a");
    const { spawn } = await import("node:child_process"); // only when labd must be started
    const child = spawn(process.execPath, [main, "daemon", "run", "--autostarted"], {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, LAB_HOME: this.dirs.home, LAB_RUN: this.dirs.run },
    });
    child.unref();
    let exitCode: number | null | undefined;
    child.once("exit", (code) => {
      exitCode = code;
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      // A daemon that refused to start (corrupt ledger, no permission) says why in its log.
      if (exitCode !== undefined && exitCode !== 0) {
        const log = readFileSync(p.daemonLog, "utf8").trimEnd().split("\n").slice(-3).join("\n");
        throw new DaemonUnavailableError(`labd could not start:\n${log}`, { hint: `see ${p.daemonLog}` });
      }
      try {
        await this.raw("GET", "/v1/daemon", undefined, {});
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new DaemonUnavailableError(`labd did not come up on ${this.socket}`, {
      hint: `see ${p.daemonLog}, or run 'lab daemon run' in the foreground`,
    });
  }
}

function answer<T>(payload: { result?: unknown; checked?: unknown }): Answer<T> {
  const checked = typeof payload.checked === "string" ? payload.checked : undefined;
  return { result: payload.result as T, checked };
}

async function readLines(
  res: http.IncomingMessage,
  onEvent: (e: Record<string, unknown>) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of res) {
    buffer += chunk as string;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onEvent(JSON.parse(line) as Record<string, unknown>);
      nl = buffer.indexOf("\n");
    }
  }
}
