// The VM's tap device: created by the daemon before qemu opens it, so the port is on the bridge
// before the guest's first DHCP request. A leftover tap or port from a crash is replaced.
import type { LabContext } from "../context.js";
import { linkExists } from "../host/ip.js";
import { addPortArgv, delPortArgv } from "../host/ovs.js";
import { tapName } from "../state/names.js";

export async function attachTap(ctx: LabContext, vm: string, bridge: string): Promise<string> {
  const tap = tapName(vm);
  const { host } = ctx;
  // Drop a stale port in its own transaction: removing and re-adding a port of the same name in
  // one transaction is no change to OVS, which would keep using the old (deleted) tap device.
  await detachTap(ctx, vm);
  await host.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  // With the userspace datapath the tap is also a host interface: it must not answer ARP for
  // the host's addresses, or guests would send their traffic around the bridge.
  await host.run(["ip", "link", "set", "dev", tap, "arp", "off", "up"]);
  await host.run(addPortArgv(ctx.ovs.describe().dbSock, bridge, tap));
  return tap;
}

export async function detachTap(ctx: LabContext, vm: string): Promise<void> {
  const tap = tapName(vm);
  const ovs = ctx.ovs.describe();
  const running = ovs.kind === "host" || ctx.ovs.privateRunning().db;
  // Without a running ovsdb there is no port to remove (and ovs-vsctl would wait for one).
  if (running)
    await ctx.host.run(delPortArgv(ovs.dbSock, tap), { allowFailure: true }).catch(() => undefined);
  if (await linkExists(ctx.host, tap))
    await ctx.host.run(["ip", "link", "del", "dev", tap], { allowFailure: true });
}
