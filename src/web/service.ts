// labd's web listener, started when `lab web` first asks for it (POST /v1/web) and kept until labd
// stops; asked for another address, it moves there. The token is made once per labd and written
// root:lab 0640 for the CLI to read with its caller's own rights.
import { chown, rm } from "node:fs/promises";
import http from "node:http";
import { WebSocketServer } from "ws";
import type { WebListening } from "../api/web.js";
import { UsageError } from "../errors.js";
import { writeFileDurably } from "../state/atomic.js";
import { labGroupId } from "../state/group.js";
import { bridgeConsole, type HubLocator } from "./console-bridge.js";
import { handleRequest, refuseUpgrade, upgradeTarget, type WebDeps } from "./http.js";
import { type ListenAddress, parseListen, urlHost } from "./listen.js";
import { LiveFeed } from "./live.js";
import { newToken } from "./token.js";

export class WebService {
  private server?: http.Server;
  private at?: ListenAddress;
  private readonly token = newToken();
  private tokenWritten = false;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  readonly live: LiveFeed;

  constructor(private readonly deps: WebDeps) {
    this.live = new LiveFeed(deps.events, deps.state, deps.log);
  }

  async ensure(listen: string | undefined): Promise<WebListening> {
    const want = parseListen(listen);
    if (!this.tokenWritten) {
      await writeFileDurably(this.deps.tokenFile, `${this.token}\n`, 0o640);
      await chown(this.deps.tokenFile, 0, (await labGroupId()) ?? 0);
      this.tokenWritten = true;
    }
    const same = this.at && this.at.host === want.host && (want.port === 0 || this.at.port === want.port);
    if (!same) {
      const server = await this.listen(want);
      await this.close();
      this.server = server;
      const a = server.address() as { address: string; port: number };
      this.at = { host: a.address, port: a.port };
      this.deps.log(`web page on http://${urlHost(this.at)}:${this.at.port}/`);
    }
    const at = this.at!;
    return {
      url: `http://${urlHost(at)}:${at.port}/`,
      host: at.host,
      port: at.port,
      tokenFile: this.deps.tokenFile,
    };
  }

  private async listen(at: ListenAddress): Promise<http.Server> {
    const locate: HubLocator = async (vm) => (await this.deps.lab.console(vm)).socket;
    const server = http.createServer((req, res) => {
      handleRequest(req, res, { token: this.token, deps: this.deps, live: this.live }).catch((err) => {
        this.deps.log(`web: ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on("upgrade", (req, socket, head) => {
      const target = upgradeTarget(req, this.token);
      if ("refuse" in target) return refuseUpgrade(socket, target.refuse);
      this.wss.handleUpgrade(req, socket, head, (ws) => void bridgeConsole(ws, target.vm, locate));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          err.code === "EADDRINUSE" || err.code === "EADDRNOTAVAIL"
            ? new UsageError(`cannot listen on ${urlHost(at)}:${at.port}: ${err.code}`, {
                hint: "choose another address or port with 'lab web --listen ADDR:PORT'",
              })
            : err,
        ),
      );
      server.listen(at.port, at.host, () => resolve());
    });
    return server;
  }

  private async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.at = undefined;
    if (!s) return;
    for (const c of this.wss.clients) c.terminate();
    this.live.closeAll();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await this.close();
    this.live.stop();
    if (this.tokenWritten) await rm(this.deps.tokenFile, { force: true });
  }
}
