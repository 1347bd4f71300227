// The API's paths, each a thin call into a domain module. Changes to the host run one at a time.
import { daemonRoutes } from "../api/daemon.js";
import { networkRoutes } from "../api/networks.js";
import type { LabContext } from "../context.js";
import { netDown, netStatus, netUp } from "../net/network.js";
import { ConsoleHubs } from "../vm/console-hub.js";
import { recover } from "../vm/recover.js";
import { hostRoutes } from "./host-routes.js";
import { imageRoutes } from "./image-routes.js";
import { mirrorRoutes } from "./mirror-routes.js";
import type { RequestContext, Route } from "./server.js";
import { snapshotRoutes } from "./snapshot-routes.js";
import { typedRoute } from "./typed-route.js";
import { vmRoutes } from "./vm-routes.js";

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
    typedRoute(daemonRoutes.status, async () => ({
      pid: process.pid,
      home: ctx.paths.home,
      run: ctx.paths.run,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      ovs: ctx.ovs.describe(),
    })),
    typedRoute(daemonRoutes.stop, async () => {
      // labd's run command returns (and the entry point exits) once the stop is done.
      setTimeout(() => void stopDaemon().catch(() => undefined), 50);
      return { stopping: true, pid: process.pid };
    }),
    typedRoute(networkRoutes.up, (req, body) => lock.run(() => netUp(withProgress(req), body))),
    typedRoute(networkRoutes.list, () => netStatus(ctx)),
    typedRoute(networkRoutes.get, async (req) => (await netStatus(ctx, req.params.name))[0]!),
    typedRoute(networkRoutes.down, (req) =>
      lock.run(async () => ({
        name: req.params.name!,
        ...(await netDown(withProgress(req), req.params.name)),
      })),
    ),
    typedRoute(daemonRoutes.recover, (req, body) =>
      lock.run(() => recover(withProgress(req), { plan: body.plan === true })),
    ),
    ...vmRoutes(ctx, hubs),
    ...snapshotRoutes(ctx),
    ...imageRoutes(ctx, lock),
    ...mirrorRoutes(ctx),
    ...hostRoutes(ctx),
    typedRoute(
      daemonRoutes.events,
      async (req) => {
        const unsubscribe = ctx.events.subscribe((e) => req.write(e));
        req.onClose(unsubscribe);
        return { time: new Date().toISOString(), type: "stream.end" };
      },
      { live: true },
    ),
  ];
}
