// GET /v1/host/routes: the host's IPv4 routes and addresses, for planning checks that run in the
// CLI (`lab up` keeps a lab's ranges off networks the host already reaches).
import { daemonRoutes } from "../api/daemon.js";
import type { LabContext } from "../context.js";
import { listAddresses, listRoutes } from "../host/ip.js";
import type { Route } from "./server.js";
import { typedRoute } from "./typed-route.js";

export function hostRoutes(ctx: LabContext): Route[] {
  return [
    typedRoute(daemonRoutes.hostRoutes, async () => {
      const [routes, addresses] = await Promise.all([listRoutes(ctx.host), listAddresses(ctx.host)]);
      return { routes, addresses };
    }),
  ];
}
