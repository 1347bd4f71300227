// Port forwards (`--publish HOST:GUEST[/tcp|udp]`, `ports:` in a lab file): parsing, the conflict
// rule, and the iptables rules that carry them. Pure: argv out, nothing run here.
// A forward is a DNAT in lab's own nat chain LAB-PORTS (jumped to from PREROUTING, and from OUTPUT
// for the host's own connections) of traffic to any of the host's addresses, plus an ACCEPT at the
// top of LAB-FORWARD for the DNATed connection only: the VM's port stays closed to traffic sent to
// its own address from outside. Every rule carries the comment lab-port:<vm>, so a VM's rules are
// found and removed exactly; the comment is not "lab:<net>", which marks a network's rules.
import { ConflictError, UsageError } from "../errors.js";
import type { ObservedTable } from "../host/iptables.js";

export interface PortForward {
  host: number;
  guest: number;
  proto: "tcp" | "udp";
}

export const PORTS_CHAIN = "LAB-PORTS";
const FORWARD_CHAIN = "LAB-FORWARD";
/** OUTPUT jumps for everything but loopback: a DNAT from 127.0.0.1 would leave with a martian source. */
const JUMPS: { parent: string; spec: string[] }[] = [
  { parent: "PREROUTING", spec: ["-j", PORTS_CHAIN] },
  { parent: "OUTPUT", spec: ["!", "-d", "127.0.0.0/8", "-j", PORTS_CHAIN] },
];

export const portComment = (vm: string) => `lab-port:${vm}`;
export const formatPort = (p: PortForward) => `${p.host}:${p.guest}/${p.proto}`;

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new UsageError(`${what} port in ${JSON.stringify(spec)} must be 1-65535`);
  return n;
}

/** "8080:80", "5353:53/udp" → a forward; anything else is a usage error with the form. */
export function parsePublish(spec: string): PortForward {
  const m = /^([^:/]+):([^:/]+)(?:\/(tcp|udp))?$/.exec(spec.trim());
  if (!m)
    throw new UsageError(`invalid port forward ${JSON.stringify(spec)}`, {
      hint: "write HOST:GUEST or HOST:GUEST/udp, e.g. --publish 8080:80",
    });
  return {
    host: port(m[1]!, "host", spec),
    guest: port(m[2]!, "guest", spec),
    proto: (m[3] ?? "tcp") as "tcp" | "udp",
  };
}

/** Refuses a host port published twice in one list or already published by another VM. */
export function checkPortsFree(
  vm: string,
  ports: readonly PortForward[],
  others: readonly { name: string; ports?: readonly PortForward[] }[],
): void {
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.host}/${p.proto}`;
    if (seen.has(key)) throw new UsageError(`host port ${key} is published twice for VM ${vm}`);
    seen.add(key);
    const owner = others.find(
      (o) => o.name !== vm && o.ports?.some((q) => q.host === p.host && q.proto === p.proto),
    );
    if (owner)
      throw new ConflictError(`host port ${key} is already published by VM ${owner.name}`, {
        hint: `pick another host port, or remove VM ${owner.name}'s forward ('lab vm destroy ${owner.name}')`,
      });
  }
}

export interface PortRuleInput {
  vm: string;
  ip: string;
  bridge: string;
  ports: readonly PortForward[];
}

/** Rule specs (after -A CHAIN) in the order `iptables -S` prints them back. */
export function portRules(i: PortRuleInput): { nat: string[][]; forward: string[][] } {
  const c = ["-m", "comment", "--comment", portComment(i.vm)];
  return {
    nat: i.ports.map((p) => [
      ...["-p", p.proto, "-m", "addrtype", "--dst-type", "LOCAL", "-m", p.proto, "--dport", String(p.host)],
      ...c,
      ...["-j", "DNAT", "--to-destination", `${i.ip}:${p.guest}`],
    ]),
    forward: i.ports.map((p) => [
      ...["-d", `${i.ip}/32`, "-o", i.bridge, "-p", p.proto, "-m", p.proto, "--dport", String(p.guest)],
      ...["-m", "conntrack", "--ctstate", "DNAT"],
      ...c,
      "-j",
      "ACCEPT",
    ]),
  };
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((w, n) => w === b[n]);

function tagged(spec: readonly string[], comment: string): boolean {
  const n = spec.indexOf("--comment");
  return n >= 0 && spec[n + 1] === comment;
}

export interface PortsObserved {
  filter: ObservedTable;
  nat: ObservedTable;
}

/** argv (after `iptables -w`) that make the VM's forwards exactly `i.ports` (none: all removed). */
export function planPortRules(i: PortRuleInput, observed: PortsObserved): string[][] {
  const steps: string[][] = [];
  const want = portRules(i);
  const comment = portComment(i.vm);
  const nat = observed.nat;
  const haveNat = (nat.rules.get(PORTS_CHAIN) ?? []).filter((r) => tagged(r, comment));
  const haveFwd = (observed.filter.rules.get(FORWARD_CHAIN) ?? []).filter((r) => tagged(r, comment));
  const unchanged =
    haveNat.length === want.nat.length &&
    haveFwd.length === want.forward.length &&
    want.nat.every((w) => haveNat.some((h) => same(h, w))) &&
    want.forward.every((w) => haveFwd.some((h) => same(h, w)));
  if (unchanged) return [];
  for (const r of haveNat) steps.push(["-t", "nat", "-D", PORTS_CHAIN, ...r]);
  for (const r of haveFwd) steps.push(["-t", "filter", "-D", FORWARD_CHAIN, ...r]);
  const others = (nat.rules.get(PORTS_CHAIN) ?? []).length - haveNat.length;
  if (want.nat.length > 0) {
    if (!nat.chains.has(PORTS_CHAIN)) steps.push(["-t", "nat", "-N", PORTS_CHAIN]);
    for (const j of JUMPS)
      if (!(nat.rules.get(j.parent) ?? []).some((r) => same(r, j.spec)))
        steps.push(["-t", "nat", "-I", j.parent, "1", ...j.spec]);
    for (const r of want.nat) steps.push(["-t", "nat", "-A", PORTS_CHAIN, ...r]);
    // Accepts go above LAB-FORWARD's drop of new connections into the lab subnet.
    for (const r of want.forward) steps.push(["-t", "filter", "-I", FORWARD_CHAIN, "1", ...r]);
  } else if (others === 0 && nat.chains.has(PORTS_CHAIN)) {
    // The last forward is gone: so are lab's chain and its jumps.
    for (const j of JUMPS)
      for (const r of (nat.rules.get(j.parent) ?? []).filter((r) => same(r, j.spec)))
        steps.push(["-t", "nat", "-D", j.parent, ...r]);
    steps.push(["-t", "nat", "-X", PORTS_CHAIN]);
  }
  return steps;
}
