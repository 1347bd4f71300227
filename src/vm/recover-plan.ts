// Pure planning of `lab recover`: which VM directories' records (vm.json) go back into the ledger,
// which networks come back with them, and why anything is left out.
import type { Ledger, NetworkSpec } from "../state/ledger.js";
import type { ReadRecord, VmRecord } from "./record.js";

export interface RecoverItem {
  name: string;
  action: "restore" | "skip";
  why: string;
}

export interface RecoverPlan {
  networks: RecoverItem[];
  vms: RecoverItem[];
  /** What the ledger gets: absent when nothing is restored. */
  add: { networks: NetworkSpec[]; vms: VmRecord[] };
}

const sameNet = (a: NetworkSpec, b: NetworkSpec) =>
  a.subnet === b.subnet && a.bridge === b.bridge && a.gateway === b.gateway && a.domain === b.domain;

export function planRecover(ledger: Ledger, records: Map<string, ReadRecord>): RecoverPlan {
  const plan: RecoverPlan = { networks: [], vms: [], add: { networks: [], vms: [] } };
  const nets = new Map(Object.entries(ledger.networks));
  const macs = new Set(Object.values(ledger.identities).map((i) => i.mac));
  const ips = new Set(Object.values(ledger.identities).map((i) => `${i.network}/${i.ip}`));
  const byAge = [...records].sort(([, a], [, b]) =>
    a.ok && b.ok ? a.record.spec.createdAt.localeCompare(b.record.spec.createdAt) : a.ok ? -1 : 1,
  );
  for (const [name, read] of byAge) {
    const skip = (why: string) => plan.vms.push({ name, action: "skip", why });
    if (!read.ok) {
      skip(read.why);
      continue;
    }
    const { spec, identity, network } = read.record;
    const held = nets.get(network.name);
    if (held && !sameNet(held, network)) {
      skip(`network ${network.name} now has subnet ${held.subnet} on bridge ${held.bridge}`);
      continue;
    }
    const clash = [...nets.values()].find((n) => n.name !== network.name && n.bridge === network.bridge);
    if (!held && clash) {
      skip(`bridge ${network.bridge} now belongs to network ${clash.name}`);
      continue;
    }
    const owner = Object.entries(ledger.identities).find(([n]) => n === name)?.[1];
    if (owner && (owner.mac !== identity.mac || owner.ip !== identity.ip)) {
      skip(`the ledger reserves ${owner.mac} ${owner.ip} for ${name}`);
      continue;
    }
    if (!owner && (macs.has(identity.mac) || ips.has(`${identity.network}/${identity.ip}`))) {
      skip(`MAC ${identity.mac} or IP ${identity.ip} is held by another VM`);
      continue;
    }
    if (!held) {
      nets.set(network.name, network);
      plan.add.networks.push(network);
      plan.networks.push({ name: network.name, action: "restore", why: `named by VM ${name}'s record` });
    }
    macs.add(identity.mac);
    ips.add(`${identity.network}/${identity.ip}`);
    plan.add.vms.push(read.record);
    plan.vms.push({
      name,
      action: "restore",
      why: `${spec.role} on ${network.name}, ${identity.mac} ${identity.ip}`,
    });
  }
  return plan;
}
