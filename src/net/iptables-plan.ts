// Plans the firewall rules of lab networks. Rules live in lab's own chains and carry a
// comment naming the network, so they can be found, counted and removed exactly.
// The jumps into those chains are inserted first in FORWARD, so a DROP policy set by another
// tool (Docker) does not stop lab traffic. What a lab network invites is accepted (rules kept at
// the top of lab's chains); what it does not is dropped after them, whatever the host's policy:
// lab's services (DHCP, DNS, mirror) answer only on the bridge, and from outside only replies
// enter the lab subnet (as libvirt's NAT networks do).

import type { Observed } from "../host/iptables.js";

export const CHAINS = {
  forward: { table: "filter", chain: "LAB-FORWARD", parent: "FORWARD" },
  input: { table: "filter", chain: "LAB-INPUT", parent: "INPUT" },
  nat: { table: "nat", chain: "LAB-POSTROUTING", parent: "POSTROUTING" },
} as const;

export type ChainKey = keyof typeof CHAINS;

export interface NetRuleInput {
  network: string;
  subnet: string;
  bridge: string;
  /** The bridge's address, where dnsmasq and the mirror listen. */
  gateway: string;
  /** The artifact mirror's TCP port on the gateway (src/mirror), when labd serves one. */
  mirrorPort?: number;
}

export interface Rule {
  key: ChainKey;
  /** Accepts sit above every drop in the chain (inserted first); drops are appended. */
  verdict: "ACCEPT" | "DROP";
  /** Rule spec after `-A CHAIN`, exactly as `iptables -S` prints it back. */
  spec: string[];
}

export const ruleComment = (network: string) => `lab:${network}`;

export function networkRules(n: NetRuleInput): Rule[] {
  const c = ["-m", "comment", "--comment", ruleComment(n.network)];
  const services: ["udp" | "tcp", number][] = [
    ["udp", 67],
    ["udp", 53],
    ["tcp", 53],
    ...(n.mirrorPort === undefined ? [] : [["tcp", n.mirrorPort] as ["tcp", number]]),
  ];
  const gw = `${n.gateway}/32`;
  return [
    accept("forward", ["-s", n.subnet, "-i", n.bridge, ...c, "-j", "ACCEPT"]),
    accept("forward", [
      ...["-d", n.subnet, "-o", n.bridge, ...c],
      ...["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ]),
    ...services.map(([proto, port]) =>
      accept("input", serviceRule(["-i", n.bridge], proto, c, port, "ACCEPT")),
    ),
    accept("nat", ["-s", n.subnet, "!", "-d", n.subnet, ...c, "-j", "MASQUERADE"]),
    // New connections from anywhere but the bridge into the lab subnet.
    drop("forward", ["-d", n.subnet, "-o", n.bridge, ...c, "-j", "DROP"]),
    // The services on the gateway address from any interface but the bridge (accepted above) and
    // the host itself. A DHCP broadcast from elsewhere is not for dnsmasq (interface= the bridge).
    ...services.map(([proto, port]) =>
      drop("input", serviceRule(["-d", gw, "!", "-i", "lo"], proto, c, port, "DROP")),
    ),
  ];
}

const accept = (key: ChainKey, spec: string[]): Rule => ({ key, verdict: "ACCEPT", spec });
const drop = (key: ChainKey, spec: string[]): Rule => ({ key, verdict: "DROP", spec });

/** In the order `iptables -S` prints it back. */
const serviceRule = (
  where: string[],
  proto: "udp" | "tcp",
  comment: string[],
  port: number,
  verdict: "ACCEPT" | "DROP",
) => [...where, "-p", proto, ...comment, "-m", proto, "--dport", String(port), "-j", verdict];

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((w, i) => w === b[i]);

/** argv (after `iptables -w`) that bring the rules of one network into place; empty when already there. */
export function planNetworkRulesUp(n: NetRuleInput, observed: Observed): string[][] {
  const steps: string[][] = [];
  for (const { table, chain, parent } of Object.values(CHAINS)) {
    const t = observed[table];
    if (!t.chains.has(chain)) steps.push(["-t", table, "-N", chain]);
    const jumps = (t.rules.get(parent) ?? []).filter((r) => same(r, ["-j", chain]));
    const first = (t.rules.get(parent) ?? [])[0];
    // The jump must be first in FORWARD/INPUT (ahead of other tools' DROPs); POSTROUTING order matters less.
    if (jumps.length === 0) steps.push(["-t", table, "-I", parent, "1", "-j", chain]);
    else if (parent !== "POSTROUTING" && !(first && same(first, ["-j", chain]))) {
      steps.push(["-t", table, "-D", parent, "-j", chain], ["-t", table, "-I", parent, "1", "-j", chain]);
    }
  }
  for (const rule of networkRules(n)) {
    const { table, chain } = CHAINS[rule.key];
    const have = observed[table].rules.get(chain) ?? [];
    if (have.some((r) => same(r, rule.spec))) continue;
    steps.push(
      rule.verdict === "DROP"
        ? ["-t", table, "-A", chain, ...rule.spec]
        : ["-t", table, "-I", chain, "1", ...rule.spec],
    );
  }
  return steps;
}

/** argv that remove a network's rules, and lab's chains once no rule is left in them. */
export function planNetworkRulesDown(network: string, observed: Observed): string[][] {
  const steps: string[][] = [];
  const comment = ruleComment(network);
  for (const { table, chain, parent } of Object.values(CHAINS)) {
    const t = observed[table];
    if (!t.chains.has(chain)) continue;
    const rules = t.rules.get(chain) ?? [];
    const mine = rules.filter((r) => isTagged(r, comment));
    for (const r of mine) steps.push(["-t", table, "-D", chain, ...r]);
    if (mine.length === rules.length) {
      for (const r of (t.rules.get(parent) ?? []).filter((r) => same(r, ["-j", chain]))) {
        steps.push(["-t", table, "-D", parent, ...r]);
      }
      steps.push(["-t", table, "-X", chain]);
    }
  }
  return steps;
}

function isTagged(spec: readonly string[], comment: string): boolean {
  const i = spec.indexOf("--comment");
  return i >= 0 && spec[i + 1] === comment;
}

/** Networks that have rules installed (from their comments), for reconciliation. */
export function taggedNetworks(observed: Observed): Set<string> {
  const out = new Set<string>();
  for (const { table, chain } of Object.values(CHAINS)) {
    for (const r of observed[table].rules.get(chain) ?? []) {
      const i = r.indexOf("--comment");
      const tag = i >= 0 ? r[i + 1] : undefined;
      if (tag?.startsWith("lab:")) out.add(tag.slice(4));
    }
  }
  return out;
}
