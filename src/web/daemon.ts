// How labd carries the web page: a WebService fed by its own API (called in process through
// the routes the CLI calls over the socket, by their paths in api/paths.ts), its event log, the
// mirror's listeners and the VMs' serial logs, and the one API path `lab web` uses to start it.
import { open } from "node:fs/promises";
import type { Network } from "../api/networks.js";
import { networkPaths, vmPaths } from "../api/paths.js";
import { fillPath } from "../api/route.js";
import type { Vm, VmChange } from "../api/vms.js";
import { webRoutes as webApi } from "../api/web.js";
import type { LabContext } from "../context.js";
import type { Route } from "../daemon/server.js";
import { DEFAULT_FLEET_PORT, FleetClient } from "../fleet/api.js";
import type { WebLab } from "./http.js";
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

/**
 * The calls the page makes, each on its route's path and typed by its answer schema (the route
 * checks its answer against that schema before it returns it).
 */
function webLab(call: LocalApi): WebLab {
  const on = (path: string, vm: string) => fillPath(path, { name: vm });
  return {
    vms: () => call(vmPaths.list.method, vmPaths.list.path) as Promise<Vm[]>,
    networks: () => call(networkPaths.list.method, networkPaths.list.path) as Promise<Network[]>,
    console: (vm) =>
      call(vmPaths.console.method, on(vmPaths.console.path, vm)) as Promise<{ socket: string }>,
    act: (vm, verb) => call(vmPaths[verb].method, on(vmPaths[verb].path, vm), {}) as Promise<VmChange>,
  };
}

export function createWebService(ctx: LabContext, api: LocalApi, log: (msg: string) => void): WebService {
  const lab = webLab(api);
  return new WebService({
    tokenFile: ctx.paths.webToken,
    eventsFile: ctx.paths.events,
    events: ctx.events,
    lab,
    log,
    state: {
      vms: lab.vms,
      networks: lab.networks,
      mirrors: () => ctx.mirror?.listeners() ?? [],
      serialTail: (vm) => tail(ctx.paths.vm(vm).serialLog, SERIAL_TAIL),
      fleet: fleetSource(),
    },
  });
}

/** POST /v1/web, checked with api/web.ts like every typed route (daemon/typed-route.ts). */
export function webRoutes(web: WebService): Route[] {
  const r = webApi.serve;
  return [
    {
      method: r.method,
      pattern: r.path,
      api: r,
      handler: (req) => web.ensure((req.body as { listen?: string }).listen),
    },
  ];
}
