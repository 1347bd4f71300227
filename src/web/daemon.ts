// How labd carries the web page: a WebService fed by its own API (called in process through
// the routes the CLI calls over the socket), its event log, the mirror's listeners and the
// VMs' serial logs, and the one API path `lab web` uses to start it.
import { open } from "node:fs/promises";
import type { LabContext } from "../context.js";
import type { Route } from "../daemon/server.js";
import { UsageError } from "../errors.js";
import { DEFAULT_FLEET_PORT, FleetClient } from "../fleet/api.js";
import type { NetStatus } from "../net/network.js";
import type { VmStatus } from "../vm/status.js";
import { WebService } from "./service.js";
import type { StateSource } from "./state.js";

const SERIAL_TAIL = 256 * 1024;
/** fleet is asked at most this often; the page refreshes more often than that. */
const FLEET_EVERY_MS = 10_000;

async function tail(file: string, bytes: number): Promise<string> {
  const fh = await open(file, "r").catch(() => undefined);
  if (!fh) return "";
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString("utf8");
  } finally {
    await fh.close();
  }
}

function fleetSource(): StateSource["fleet"] {
  let cached: { ip: string; at: number; value: Awaited<ReturnType<StateSource["fleet"]>> } | undefined;
  return async (ip) => {
    if (cached && cached.ip === ip && Date.now() - cached.at < FLEET_EVERY_MS) return cached.value;
    const client = new FleetClient(`http://${ip}:${DEFAULT_FLEET_PORT}`, {
      timeoutMs: 2000,
      retry: { forMs: 0, firstDelayMs: 0, maxDelayMs: 0 },
    });
    const value = await Promise.all([client.machines(), client.units()])
      .then(([machines, units]) => ({ machines, units }))
      .catch(() => undefined);
    cached = { ip, at: Date.now(), value };
    return value;
  };
}

/** Local API calls: labd's own routes in process (daemon/server.ts localCaller). */
export type LocalApi = (
  method: "GET" | "POST",
  path: string,
  body?: Record<string, unknown>,
) => Promise<unknown>;

export function createWebService(ctx: LabContext, api: LocalApi, log: (msg: string) => void): WebService {
  return new WebService({
    tokenFile: ctx.paths.webToken,
    eventsFile: ctx.paths.events,
    events: ctx.events,
    api,
    log,
    state: {
      vms: () => api("GET", "/v1/vms") as Promise<VmStatus[]>,
      networks: () => api("GET", "/v1/networks") as Promise<NetStatus[]>,
      mirrors: () => ctx.mirror?.listeners() ?? [],
      serialTail: (vm) => tail(ctx.paths.vm(vm).serialLog, SERIAL_TAIL),
      fleet: fleetSource(),
    },
  });
}

export function webRoutes(web: WebService): Route[] {
  return [
    {
      method: "POST",
      pattern: "/v1/web",
      handler: async (req) => {
        const listen = req.body.listen;
        if (listen !== undefined && typeof listen !== "string")
          throw new UsageError("field listen must be a string");
        return web.ensure(listen);
      },
    },
  ];
}
