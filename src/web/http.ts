// The web listener's requests: the public bootstrap, then (with the token) the page's assets, the
// picture, the event log, the live feed, the three harmless actions, and console websockets.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Network } from "../api/networks.js";
import type { Vm, VmChange } from "../api/vms.js";
import { toLabError } from "../errors.js";
import type { EventLog } from "../state/events.js";
import { ASSETS, readAsset, recentEvents } from "./assets.js";
import type { LiveFeed } from "./live.js";
import type { StateSource } from "./state.js";
import { requestHasToken } from "./token.js";

/** What the page asks of labd's own API (web/daemon.ts calls its routes in process). */
export interface WebLab {
  vms(): Promise<Vm[]>;
  networks(): Promise<Network[]>;
  console(vm: string): Promise<{ socket: string }>;
  act(vm: string, verb: (typeof ACTIONS)[number]): Promise<VmChange>;
}

/** What the web service is given by labd (web/daemon.ts). */
export interface WebDeps {
  tokenFile: string;
  eventsFile: string;
  events: EventLog;
  state: StateSource;
  /** labd's own API (the same paths and rules as the CLI's). */
  lab: WebLab;
  log: (msg: string) => void;
}

export interface RequestDeps {
  token: string;
  deps: WebDeps;
  live: LiveFeed;
}

export const ACTIONS = ["start", "stop", "restart"] as const;
const ACTION_PATH = /^\/api\/vms\/([a-z0-9-]{1,63})\/(start|stop|restart)$/;
const CONSOLE_PATH = /^\/api\/vms\/([a-z0-9-]{1,63})\/console$/;

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // xterm.js sets inline styles; everything else comes from this origin only.
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json" });
  res.end(text);
}

/** A browser sends Origin on cross-site requests: only the page's own origin may act. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host}`;
}

export async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  d: RequestDeps,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://web");
  const asset = ASSETS[url.pathname === "/index.html" ? "/" : url.pathname];
  if (req.method === "GET" && asset?.public) {
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type });
    res.end(await readAsset(asset));
    return;
  }
  if (!requestHasToken(d.token, req.headers))
    return json(res, 401, { error: "this page needs the token that 'lab web' prints" });
  if (req.method === "GET" && asset) {
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type });
    res.end(await readAsset(asset));
    return;
  }
  if (req.method === "GET" && url.pathname === "/api/state") return json(res, 200, await d.live.state());
  if (req.method === "GET" && url.pathname === "/api/events") {
    const limit = Math.min(Math.max(Number(url.searchParams.get("limit")) || 300, 1), 5000);
    return json(res, 200, await recentEvents(d.deps.eventsFile, limit));
  }
  if (req.method === "GET" && url.pathname === "/api/live") return d.live.add(res);
  const action = ACTION_PATH.exec(url.pathname);
  if (req.method === "POST" && action) {
    if (!sameOrigin(req)) return json(res, 403, { error: "cross-origin request refused" });
    try {
      const verb = action[2] as (typeof ACTIONS)[number];
      const result = await d.deps.lab.act(action[1]!, verb);
      return json(res, 200, { result });
    } catch (err) {
      const e = toLabError(err);
      return json(res, e.code === "not_found" ? 404 : e.code === "conflict" ? 409 : 500, {
        error: e.message,
        hint: e.hint,
      });
    }
  }
  return json(res, 404, { error: `no such page ${url.pathname}` });
}

export type UpgradeTarget = { vm: string } | { refuse: 401 | 403 | 404 };

export function upgradeTarget(req: IncomingMessage, token: string): UpgradeTarget {
  if (!requestHasToken(token, req.headers)) return { refuse: 401 };
  if (!sameOrigin(req)) return { refuse: 403 };
  const m = CONSOLE_PATH.exec(new URL(req.url ?? "/", "http://web").pathname);
  return m ? { vm: m[1]! } : { refuse: 404 };
}

const REASONS = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" };

export function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404): void {
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
