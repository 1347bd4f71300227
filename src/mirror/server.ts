// The artifact mirror on the lab networks: one HTTP server per network, bound to that network's
// gateway address only (never 0.0.0.0), so the host's other addresses do not answer. GET and
// HEAD of files the index names; nothing else. Lives in labd: it stops with the daemon and the
// daemon's start-up reconcile brings it back.
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import http from "node:http";
import { pipeline } from "node:stream/promises";
import type { MirrorService } from "../context.js";
import { ConflictError } from "../errors.js";
import type { NetworkSpec } from "../state/ledger.js";
import type { LabPaths } from "../state/paths.js";
import { type MirrorEntry, readMirrorIndex } from "./index-file.js";
import { digestLine, listing, lookupMirrorPath } from "./lookup.js";

interface Listener {
  address: string;
  server: http.Server;
}

export interface MirrorListener {
  network: string;
  url: string;
}

export class MirrorServers implements MirrorService {
  private readonly servers = new Map<string, Listener>();

  constructor(
    private readonly paths: LabPaths,
    readonly port: number,
    private readonly log: (msg: string) => void,
  ) {}

  async ensure(spec: NetworkSpec): Promise<boolean> {
    const have = this.servers.get(spec.name);
    if (have?.address === spec.gateway && have.server.listening) return false;
    if (have) await this.stop(spec.name);
    const server = http.createServer((req, res) => void this.answer(req, res));
    await listen(server, spec.gateway, this.port);
    server.on("error", (err) => this.log(`mirror on ${spec.gateway}:${this.port}: ${err.message}`));
    this.servers.set(spec.name, { address: spec.gateway, server });
    return true;
  }

  async stop(network: string): Promise<void> {
    const have = this.servers.get(network);
    if (!have) return;
    this.servers.delete(network);
    await new Promise<void>((resolve) => {
      have.server.close(() => resolve());
      have.server.closeAllConnections();
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((n) => this.stop(n)));
  }

  listeners(): MirrorListener[] {
    return [...this.servers.entries()].map(([network, l]) => ({
      network,
      url: `http://${l.address}:${this.port}/`,
    }));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const entries = await readMirrorIndex(this.paths.mirror.index);
      const a = lookupMirrorPath(entries, req.method, req.url);
      const head = req.method === "HEAD";
      if (a.kind === "method_not_allowed")
        return text(res, 405, "GET and HEAD only\n", head, { allow: "GET, HEAD" });
      if (a.kind === "not_found") return text(res, 404, "not found\n", head);
      if (a.kind === "list") return text(res, 200, `${JSON.stringify(listing(entries))}\n`, head, JSON_TYPE);
      if (a.kind === "digest") return text(res, 200, digestLine(a.entry), head);
      await this.sendFile(a.entry, res, head);
    } catch (err) {
      this.log(`mirror: ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) text(res, 500, "mirror error\n", false);
      else res.destroy();
    }
  }

  private async sendFile(entry: MirrorEntry, res: http.ServerResponse, head: boolean): Promise<void> {
    // O_NOFOLLOW: a symlink planted in the mirror directory is not followed out of it.
    const fh = await open(
      this.paths.mirror.artifact(entry.name),
      constants.O_RDONLY | constants.O_NOFOLLOW,
    ).catch(() => undefined);
    if (!fh) return text(res, 404, "not found\n", head);
    const s = await fh.stat();
    if (!s.isFile() || s.size !== entry.size) {
      await fh.close();
      return text(res, 500, "artifact changed on disk\n", head);
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": s.size,
      "x-checksum-sha256": entry.sha256,
    });
    if (head) {
      await fh.close();
      res.end();
      return;
    }
    await pipeline(fh.createReadStream(), res).catch(() => undefined);
  }
}

const JSON_TYPE = { "content-type": "application/json" };

function text(
  res: http.ServerResponse,
  status: number,
  body: string,
  head: boolean,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...headers,
    "content-length": Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

function listen(server: http.Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = `${address}:${port}`;
      if (err.code === "EADDRINUSE")
        reject(
          new ConflictError(`cannot serve the mirror on ${where}: the port is taken`, {
            hint: "stop what listens there, or start labd with another LAB_MIRROR_PORT",
            cause: err,
          }),
        );
      else reject(new ConflictError(`cannot serve the mirror on ${where}: ${err.message}`, { cause: err }));
    });
    server.listen({ host: address, port, exclusive: true }, () => resolve());
  });
}
