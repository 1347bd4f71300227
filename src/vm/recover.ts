// `lab recover`: rebuilds ledger entries from the records (vm.json) in VM directories the ledger
// does not name, then repairs the restored networks and re-adopts VMs whose qemu still runs.
import type { LabContext } from "../context.js";
import { applyNetwork, reservationsFor } from "../net/network.js";
import { adoptVms } from "./adopt.js";
import { readVmRecord, strayVmDirs } from "./record.js";
import { planRecover, type RecoverPlan } from "./recover-plan.js";
import { runningPid } from "./status.js";
import type { VmSupervisor } from "./supervisor.js";

export interface RecoverResult extends RecoverPlan {
  applied: boolean;
}

export async function recover(ctx: LabContext, opts: { plan: boolean }): Promise<RecoverResult> {
  const ledger = ctx.ledger.read();
  const records = new Map(
    await Promise.all(
      (await strayVmDirs(ctx.paths, ledger)).map(async (n) => [n, await readVmRecord(ctx.paths, n)] as const),
    ),
  );
  const plan = planRecover(ledger, records);
  if (opts.plan || plan.add.vms.length === 0) return { ...plan, applied: false };
  await ctx.ledger.update((l) => {
    for (const n of plan.add.networks) l.networks[n.name] = n;
    for (const r of plan.add.vms) {
      l.identities[r.spec.name] = r.identity;
      // One that no longer runs waits for 'lab vm start' rather than counting as crashed.
      l.vms[r.spec.name] = {
        ...r.spec,
        wantRunning: r.spec.wantRunning && runningPid(ctx, r.spec.name) !== undefined,
      };
    }
  });
  for (const n of plan.add.networks) {
    const changed: string[] = [];
    await applyNetwork(ctx, n, changed, () => undefined);
    ctx.events.emit("network.recovered", { network: n.name, changed });
  }
  for (const r of plan.add.vms) {
    const net = ctx.ledger.read().networks[r.spec.network];
    if (net) await ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name));
    ctx.events.emit("vm.recovered", { vm: r.spec.name, ip: r.identity.ip, mac: r.identity.mac });
  }
  await adoptVms(ctx, ctx.watcher as VmSupervisor, () => undefined);
  return { ...plan, applied: true };
}
