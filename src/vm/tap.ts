// The VM's tap device: created by the daemon before qemu opens it, so the port is on the bridge
// before the guest's first DHCP request. lab owns a tap by record, never by its name: the link's
// alias says `lab-vm:<name>` and its OVS port carries external_ids:lab-vm=<name>. A leftover tap
// or port of lab's own (a crash) is replaced; an interface of that name lab did not make is refused.
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import { linkAlias } from "../host/ip.js";
import { addPortArgv, delPortArgv, vsctl } from "../host/ovs.js";
import { tapName } from "../state/names.js";

const aliasOf = (vm: string) => `lab-vm:${vm}`;

function ovsRunning(ctx: LabContext): boolean {
  return ctx.ovs.describe().kind === "host" || ctx.ovs.privateRunning().db;
}

/** "absent", "ours", or "foreign" (an interface of that name that lab has no record of making). */
export async function tapOwner(ctx: LabContext, vm: string): Promise<"absent" | "ours" | "foreign"> {
  const tap = tapName(vm);
  const alias = await linkAlias(ctx.host, tap);
  if (alias === undefined) return "absent";
  if (alias === aliasOf(vm)) return "ours";
  if (!ovsRunning(ctx)) return "foreign";
  const r = await ctx.host.run(vsctl(ctx.ovs.describe().dbSock, "get", "port", tap, "external_ids:lab-vm"), {
    allowFailure: true,
  });
  return r.exitCode === 0 && r.stdout.trim().replace(/"/g, "") === vm ? "ours" : "foreign";
}

export async function checkTapFree(ctx: LabContext, vm: string): Promise<void> {
  if ((await tapOwner(ctx, vm)) !== "foreign") return;
  throw new ConflictError(`an interface named ${tapName(vm)} exists on this host and lab did not create it`, {
    hint: `VM ${vm} needs that name for its tap: pick another VM name, or rename or remove that interface`,
  });
}

export async function attachTap(ctx: LabContext, vm: string, bridge: string): Promise<string> {
  const tap = tapName(vm);
  const { host } = ctx;
  await checkTapFree(ctx, vm);
  // Drop a stale port in its own transaction: removing and re-adding a port of the same name in
  // one transaction is no change to OVS, which would keep using the old (deleted) tap device.
  await detachTap(ctx, vm);
  await host.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  // With the userspace datapath the tap is also a host interface: it must not answer ARP for
  // the host's addresses, or guests would send their traffic around the bridge.
  await host.run(["ip", "link", "set", "dev", tap, "alias", aliasOf(vm), "arp", "off", "up"]);
  await host.run(addPortArgv(ctx.ovs.describe().dbSock, bridge, tap, vm));
  return tap;
}

/** Removes the VM's tap and port, only when lab's record says they are the VM's. */
export async function detachTap(ctx: LabContext, vm: string): Promise<void> {
  if ((await tapOwner(ctx, vm)) === "foreign") return;
  const tap = tapName(vm);
  // Without a running ovsdb there is no port to remove (and ovs-vsctl would wait for one).
  if (ovsRunning(ctx))
    await ctx.host
      .run(delPortArgv(ctx.ovs.describe().dbSock, tap), { allowFailure: true })
      .catch(() => undefined);
  if ((await linkAlias(ctx.host, tap)) !== undefined)
    await ctx.host.run(["ip", "link", "del", "dev", tap], { allowFailure: true });
}
