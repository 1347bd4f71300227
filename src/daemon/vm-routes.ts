// API paths for VMs. Requests and answers are the schemas of api/vms.ts.
import { vmRoutes as api } from "../api/vms.js";
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import type { ConsoleHubs } from "../vm/console-hub.js";
import { createVm } from "../vm/create.js";
import { destroyVm, getSpec, startVm, stopVm } from "../vm/lifecycle.js";
import { sshTarget } from "../vm/ssh-target.js";
import { vmStatus } from "../vm/status.js";
import type { Route } from "./server.js";
import { typedRoute } from "./typed-route.js";

export function vmRoutes(ctx: LabContext, hubs: ConsoleHubs): Route[] {
  const { lock } = ctx;
  const status = (name: string) => vmStatus(ctx, getSpec(ctx, name), ctx.ledger.read().identities[name]);
  return [
    typedRoute(api.list, async () => {
      const l = ctx.ledger.read();
      return Object.values(l.vms).map((v) => vmStatus(ctx, v, l.identities[v.name]));
    }),
    typedRoute(api.get, async (req) => status(req.params.name!)),
    typedRoute(api.create, (_req, body) =>
      lock.run(async () => {
        const r = await createVm(ctx, body);
        return { vm: r.status, changed: r.changed };
      }),
    ),
    typedRoute(api.start, (req) =>
      lock.run(async () => {
        const r = await startVm(ctx, req.params.name!);
        return { vm: r.status, changed: r.changed };
      }),
    ),
    typedRoute(api.stop, (req, body) =>
      lock.run(async () => {
        const name = req.params.name!;
        const timeout = body.timeoutSeconds;
        const r = await stopVm(ctx, name, timeout === undefined ? undefined : timeout * 1000);
        return { vm: status(name), changed: r.changed };
      }),
    ),
    typedRoute(api.restart, (req) =>
      lock.run(async () => {
        await stopVm(ctx, req.params.name!);
        const r = await startVm(ctx, req.params.name!);
        return { vm: r.status, changed: r.changed };
      }),
    ),
    typedRoute(api.destroy, (req) =>
      lock.run(async () => {
        const name = req.params.name!;
        hubs.close(name);
        return { name, ...(await destroyVm(ctx, name, req.query.get("forget") === "true")) };
      }),
    ),
    typedRoute(api.console, async (req) => {
      const name = req.params.name!;
      const s = status(name);
      if (s.state !== "running")
        throw new ConflictError(`VM ${name} is ${s.state}`, {
          hint: `start it with 'lab vm start ${name}'`,
        });
      const f = ctx.paths.vm(name);
      return { socket: await hubs.ensure(name, f.console, f.consoleMux), serialLog: f.serialLog };
    }),
    typedRoute(api.ssh, (req) => sshTarget(ctx, req.params.name!)),
  ];
}
