// Applies a VM's port forwards (net/ports.ts plans them): on create, and again at daemon start,
// from the ledger's record; removed on destroy.
import type { LabContext } from "../context.js";
import { applyIptables, observeIptables } from "../host/iptables.js";
import { planPortRules } from "../net/ports.js";

/** Makes the host's rules match the VM's recorded forwards (none recorded: removes any left). */
export async function syncVmPorts(ctx: LabContext, vm: string): Promise<void> {
  const l = ctx.ledger.read();
  const spec = l.vms[vm];
  const id = l.identities[vm];
  const net = spec ? l.networks[spec.network] : undefined;
  const ports = spec && id && net ? (spec.ports ?? []) : [];
  const input = { vm, ip: id?.ip ?? "", bridge: net?.bridge ?? "", ports };
  await applyIptables(ctx.host, planPortRules(input, await observeIptables(ctx.host)));
}

export async function removeVmPorts(ctx: LabContext, vm: string): Promise<void> {
  await applyIptables(
    ctx.host,
    planPortRules({ vm, ip: "", bridge: "", ports: [] }, await observeIptables(ctx.host)),
  );
}
