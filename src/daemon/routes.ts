// The API's paths, each a thin call into a domain module. Changes to the host run one at a time.
import type { LabContext } from "../context.js";
import { UsageError } from "../errors.js";
import { netDown, netStatus, netUp } from "../net/network.js";
import { sshTarget } from "../ssh/target.js";
import { ConsoleHubs } from "../vm/console-hub.js";
import { recover } from "../vm/recover.js";
import { hostRoutes } from "./host-routes.js";
import { imageRoutes } from "./image-routes.js";
import { mirrorRoutes } from "./mirror-routes.js";
import type { RequestContext, Route } from "./server.js";
import { snapshotRoutes } from "./snapshot-routes.js";
import { vmRoutes } from "./vm-routes.js";

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new UsageError(`field ${key} must be a string`);
  return v;
}

/**
 * Every path but the daemon's own waits for `ready` (the start-up reconcile), so no client sees
 * a VM before it was re-adopted or a network before it was repaired.
 */
export function buildRoutes(ctx: LabContext, stopDaemon: () => Promise<void>, ready: Promise<void>): Route[] {
  return allRoutes(ctx, stopDaemon).map((r) =>
    r.pattern.startsWith("/v1/daemon")
      ? r
      : {
          ...r,
          handler: async (req) => {
            await ready;
            return r.handler(req);
          },
        },
  );
}

function allRoutes(ctx: LabContext, stopDaemon: () => Promise<void>): Route[] {
  const lock = ctx.lock;
  const hubs = new ConsoleHubs();
  const started = Date.now();
  const withProgress = (req: RequestContext): LabContext => ({
    ...ctx,
    progress: (message, data) => req.emit({ message, ...data }),
  });
  return [
    {
      method: "GET",
      pattern: "/v1/daemon",
      handler: async () => ({
        pid: process.pid,
        home: ctx.paths.home,
        run: ctx.paths.run,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        ovs: ctx.ovs.describe(),
      }),
    },
    {
      method: "POST",
      pattern: "/v1/daemon/stop",
      handler: async () => {
        // labd's run command returns (and the entry point exits) once the stop is done.
        setTimeout(() => void stopDaemon().catch(() => undefined), 50);
        return { stopping: true, pid: process.pid };
      },
    },
    {
      method: "POST",
      pattern: "/v1/networks",
      handler: (req) =>
        lock.run(() =>
          netUp(withProgress(req), {
            name: str(req.body, "name"),
            subnet: str(req.body, "subnet"),
            bridge: str(req.body, "bridge"),
            domain: str(req.body, "domain"),
            dhcpRange: str(req.body, "dhcpRange"),
          }),
        ),
    },
    { method: "GET", pattern: "/v1/networks", handler: () => netStatus(ctx) },
    { method: "GET", pattern: "/v1/networks/:name", handler: (req) => netStatus(ctx, req.params.name) },
    {
      method: "DELETE",
      pattern: "/v1/networks/:name",
      handler: (req) => lock.run(() => netDown(withProgress(req), req.params.name)),
    },
    {
      method: "POST",
      pattern: "/v1/recover",
      handler: (req) => lock.run(() => recover(withProgress(req), { plan: req.body.plan === true })),
    },
    ...vmRoutes(ctx, hubs),
    ...snapshotRoutes(ctx),
    ...imageRoutes(ctx, lock),
    ...mirrorRoutes(ctx),
    ...hostRoutes(ctx),
    { method: "GET", pattern: "/v1/vms/:name/ssh", handler: (req) => sshTarget(ctx, req.params.name!) },
    {
      method: "GET",
      pattern: "/v1/events",
      live: true,
      handler: async (req) => {
        const unsubscribe = ctx.events.subscribe((e) => req.write(e));
        req.onClose(unsubscribe);
      },
    },
  ];
}
