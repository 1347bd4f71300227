// Brings the host back in line with the ledger when the daemon starts: repairs what a network
// is missing and removes what lab owns but the ledger no longer names.
import { readdir } from "node:fs/promises";
import type { LabContext } from "../context.js";
import { observeIptables } from "../host/iptables.js";
import { taggedNetworks } from "../net/iptables-plan.js";
import { applyNetwork, teardownNetwork } from "../net/network.js";
import { adoptVms } from "../vm/adopt.js";
import { syncVmPorts } from "../vm/ports.js";
import { findStrays } from "../vm/strays.js";
import type { VmSupervisor } from "../vm/supervisor.js";

async function leftoverDnsmasqNetworks(ctx: LabContext): Promise<string[]> {
  const names = await readdir(ctx.paths.dnsmasqDir).catch(() => [] as string[]);
  return [...new Set(names.filter((n) => n.endsWith(".conf")).map((n) => n.slice(0, -".conf".length)))];
}

export async function reconcileNetworks(ctx: LabContext, log: (msg: string) => void): Promise<void> {
  const ledger = ctx.ledger.read();
  const known = new Set(Object.keys(ledger.networks));
  const strays = await findStrays(ctx, ledger, ctx.ledger.existed);
  // A network that VM directories outside the ledger still name is kept for 'lab recover'.
  const wanted = new Set(strays.filter((s) => !s.abandoned).map((s) => s.network ?? ""));
  if (!ctx.ledger.existed && strays.length > 0) {
    log(
      `no ledger at ${ctx.ledger.file}, but ${strays.length} VM director${strays.length === 1 ? "y" : "ies"} exist: ` +
        "nothing is removed; 'lab recover --plan' shows how 'lab recover' would rebuild the ledger from them",
    );
  }
  const tagged = taggedNetworks(await observeIptables(ctx.host));
  const stale = new Set([...tagged, ...(await leftoverDnsmasqNetworks(ctx))].filter((n) => !known.has(n)));
  for (const name of stale) {
    if (wanted.has(name)) {
      log(`network ${name} is not in the ledger but VM directories name it: left up for 'lab recover'`);
      continue;
    }
    await teardownNetwork(ctx, name);
    ctx.events.emit("network.reconciled", { network: name, changed: ["removed leftovers"] });
  }
  for (const spec of Object.values(ledger.networks)) {
    const changed: string[] = [];
    try {
      await applyNetwork(ctx, spec, changed, () => undefined);
    } catch (err) {
      log(`network ${spec.name}: reconcile failed: ${(err as Error).message}`);
      ctx.events.emit("network.reconcile_failed", { network: spec.name, error: (err as Error).message });
      continue;
    }
    if (changed.length > 0) ctx.events.emit("network.reconciled", { network: spec.name, changed });
  }
  if (known.size === 0 && wanted.size === 0 && ctx.ovs.describe().kind === "private") {
    const running = ctx.ovs.privateRunning();
    if (running.db || running.vswitchd) await ctx.ovs.stopPrivate();
  }
}

export async function reconcile(
  ctx: LabContext,
  supervisor: VmSupervisor,
  log: (msg: string) => void,
): Promise<void> {
  await ctx.lock.run(async () => {
    await reconcileNetworks(ctx, log);
    await adoptVms(ctx, supervisor, log);
    // Port forwards lost with the host's rules (a reboot) come back from the VMs' specs.
    for (const vm of Object.values(ctx.ledger.read().vms).filter((v) => v.ports?.length)) {
      await syncVmPorts(ctx, vm.name).catch((err: Error) =>
        log(`VM ${vm.name}: port forwards not restored: ${err.message}`),
      );
    }
  });
}
