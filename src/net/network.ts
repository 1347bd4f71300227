// `net up/down/status`: applies a planned network to the host through OVS, iproute2, iptables
// and dnsmasq. Each step observes first, so a repeated `net up` changes nothing.
import type { LabContext } from "../context.js";
import { ConflictError, NotFoundError } from "../errors.js";
import {
  addAddressArgv,
  linkExists,
  linkUpArgv,
  listAddresses,
  listLinkNames,
  listRoutes,
} from "../host/ip.js";
import { applyIptables, observeIptables } from "../host/iptables.js";
import { addBridgeArgv, delBridgeArgv, vsctl } from "../host/ovs.js";
import { enableIpForwarding } from "../host/sysctl.js";
import { faultPoint } from "../state/faults.js";
import type { Ledger, NetworkSpec } from "../state/ledger.js";
import { validateNetName } from "../state/names.js";
import { withRollback } from "../state/steps.js";
import type { Reservation } from "./dnsmasq-config.js";
import { planNetworkRulesDown, planNetworkRulesUp } from "./iptables-plan.js";
import type { OvsEndpoint } from "./ovs-instance.js";
import { DEFAULT_NETWORK, type NetUpRequest, planNetwork } from "./plan.js";

export interface NetUpResult {
  network: NetworkSpec;
  changed: string[];
}

export function reservationsFor(ledger: Ledger, net: string): Reservation[] {
  return Object.entries(ledger.identities)
    .filter(([, id]) => id.network === net)
    .map(([name, id]) => ({ name, mac: id.mac, ip: id.ip }));
}

export async function netUp(ctx: LabContext, req: NetUpRequest): Promise<NetUpResult> {
  const ledger = ctx.ledger.read();
  const [addresses, routes, links] = await Promise.all([
    listAddresses(ctx.host),
    listRoutes(ctx.host),
    listLinkNames(ctx.host),
  ]);
  const isNew = !ledger.networks[req.name ?? DEFAULT_NETWORK];
  const spec = planNetwork(req, ledger, { addresses, routes, links });
  return withRollback(async (undo) => {
    const changed: string[] = [];
    if (isNew) {
      // The ledger learns of the network before anything exists, so a crash can be reconciled.
      await ctx.ledger.update((l) => {
        l.networks[spec.name] = spec;
      });
      undo.push("ledger", () => ctx.ledger.update((l) => void delete l.networks[spec.name]));
      changed.push("ledger");
    }
    await applyNetwork(ctx, spec, changed, (name, fn) => undo.push(name, fn));
    if (changed.length > 0) ctx.events.emit("network.up", { network: spec.name, changed });
    return { network: spec, changed };
  });
}

type PushUndo = (name: string, fn: () => Promise<void>) => void;

/** Brings one network's host side to its spec; shared by `net up` and the daemon's reconciler. */
export async function applyNetwork(ctx: LabContext, spec: NetworkSpec, changed: string[], undo: PushUndo) {
  const { host } = ctx;
  const { endpoint, started } = await ctx.ovs.ensure();
  if (started) {
    changed.push("ovs");
    undo("ovs", () => stopOvsIfUnused(ctx, spec.name));
  }
  faultPoint("net-up:bridge");
  if (!(await bridgePresent(ctx, spec.bridge))) {
    await host.run(addBridgeArgv(endpoint.dbSock, spec.bridge, endpoint.datapath, spec.name));
    undo("bridge", async () => void (await host.run(delBridgeArgv(endpoint.dbSock, spec.bridge))));
    changed.push("bridge");
  }
  const cidr = `${spec.gateway}/${spec.prefix}`;
  const have = await listAddresses(host, spec.bridge);
  if (!have.some((a) => a.local === spec.gateway && a.prefixlen === spec.prefix)) {
    await host.run(addAddressArgv(spec.bridge, cidr));
    changed.push("address");
  }
  await host.run(linkUpArgv(spec.bridge));
  await enableIpForwarding();
  faultPoint("net-up:iptables");
  const steps = planNetworkRulesUp(ruleInput(ctx, spec), await observeIptables(host));
  if (steps.length > 0) {
    undo("iptables", () => removeRules(ctx, spec.name));
    await applyIptables(host, steps);
    changed.push("iptables");
  }
  faultPoint("net-up:dnsmasq");
  const hadDnsmasq = ctx.dnsmasq.pid(spec.name) !== undefined;
  if (await ctx.dnsmasq.ensure(spec, reservationsFor(ctx.ledger.read(), spec.name))) {
    if (!hadDnsmasq) undo("dnsmasq", () => ctx.dnsmasq.stop(spec.name));
    changed.push("dnsmasq");
  }
  // After the address: the mirror binds the gateway address and nothing else.
  if (await ctx.mirror?.ensure(spec)) {
    undo("mirror", () => ctx.mirror!.stop(spec.name));
    changed.push("mirror");
  }
  faultPoint("net-up:done");
}

async function removeRules(ctx: LabContext, net: string): Promise<void> {
  await applyIptables(ctx.host, planNetworkRulesDown(net, await observeIptables(ctx.host)));
}

async function stopOvsIfUnused(ctx: LabContext, leaving: string): Promise<void> {
  const others = Object.keys(ctx.ledger.read().networks).filter((n) => n !== leaving);
  if (others.length === 0 && ctx.ovs.describe().kind === "private") await ctx.ovs.stopPrivate();
}

/** Removes everything the network created. Absent networks succeed (idempotent). */
export async function netDown(ctx: LabContext, name = DEFAULT_NETWORK): Promise<{ removed: boolean }> {
  validateNetName(name);
  const spec = ctx.ledger.read().networks[name];
  const users = Object.values(ctx.ledger.read().vms).filter((v) => v.network === name);
  if (!spec) return { removed: false };
  if (users.length > 0) {
    throw new ConflictError(`network ${name} is used by VM(s) ${users.map((u) => u.name).join(", ")}`, {
      hint: "destroy those VMs first ('lab vm destroy NAME')",
    });
  }
  await teardownNetwork(ctx, spec.name, spec.bridge);
  await ctx.ledger.update((l) => void delete l.networks[name]);
  await stopOvsIfUnused(ctx, name);
  ctx.events.emit("network.down", { network: name });
  return { removed: true };
}

/** Host-side teardown; also used by the reconciler for leftovers the ledger no longer names. */
export async function teardownNetwork(ctx: LabContext, name: string, bridge?: string): Promise<void> {
  await ctx.mirror?.stop(name);
  await ctx.dnsmasq.stop(name);
  await removeRules(ctx, name);
  if (bridge && (await linkExists(ctx.host, bridge))) {
    await ctx.host.run(delBridgeArgv(ctx.ovs.describe().dbSock, bridge));
  }
}

export interface NetStatus {
  network: NetworkSpec;
  ovs: OvsEndpoint;
  /** Observed: the bridge is in OVS's database and its interface exists. */
  bridge: boolean;
  /** Observed: every firewall rule of the network is in place. */
  rules: boolean;
  dnsmasqPid?: number;
  reservations: Reservation[];
}

/** Whether the switch lab talks to holds the bridge (a link of that name alone is not proof). */
export async function bridgePresent(ctx: LabContext, bridge: string): Promise<boolean> {
  const ovs = ctx.ovs.describe();
  // Without a running ovsdb there is no bridge (and ovs-vsctl would wait for the database).
  if (ovs.kind === "private" && !ctx.ovs.privateRunning().vswitchd) return false;
  const r = await ctx.host.run(vsctl(ovs.dbSock, "br-exists", bridge), { allowFailure: true });
  return r.exitCode === 0 && (await linkExists(ctx.host, bridge));
}

const ruleInput = (ctx: LabContext, spec: NetworkSpec) => ({
  network: spec.name,
  subnet: spec.subnet,
  bridge: spec.bridge,
  gateway: spec.gateway,
  mirrorPort: ctx.mirror?.port,
});

export async function netStatus(ctx: LabContext, name?: string): Promise<NetStatus[]> {
  const ledger = ctx.ledger.read();
  const specs = name ? [ledger.networks[validateNetName(name)]] : Object.values(ledger.networks);
  if (specs[0] === undefined && name) {
    throw new NotFoundError(`no network named ${name}`, { hint: `create it with 'lab net up ${name}'` });
  }
  const endpoint = ctx.ovs.describe();
  const observed = await observeIptables(ctx.host);
  const out: NetStatus[] = [];
  for (const spec of specs as NetworkSpec[]) {
    out.push({
      network: spec,
      ovs: endpoint,
      bridge: await bridgePresent(ctx, spec.bridge),
      rules: planNetworkRulesUp(ruleInput(ctx, spec), observed).length === 0,
      dnsmasqPid: ctx.dnsmasq.pid(spec.name),
      reservations: reservationsFor(ledger, spec.name),
    });
  }
  return out;
}

export async function bridgePorts(ctx: LabContext, bridge: string): Promise<string[]> {
  const r = await ctx.host.run(vsctl(ctx.ovs.describe().dbSock, "list-ports", bridge), {
    allowFailure: true,
  });
  return r.exitCode === 0 ? r.stdout.split("\n").filter(Boolean) : [];
}
