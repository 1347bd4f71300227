// Which address each machine gets, decided before anything is created: fixed ones as declared,
// a name that already holds a reservation keeps it, the rest take the next free static address
// in boot order (the daemon's own rule). lab up passes these explicitly, so a later machine's
// fixed address can never have been handed to an earlier one.

import type { FieldProblem } from "../../field-problems.js";
import { intToIp, ipToInt, parseCidr, parseDhcpRange, planAddresses } from "../../net/cidr.js";
import type { Reservation } from "../../net/dnsmasq-config.js";
import { type Addressing, addressingOf, freeStaticAddresses } from "../../net/static-ips.js";
import type { NetworkSpec } from "../../state/ledger.js";
import type { DesiredMachine, DesiredNetwork } from "../file/desired.js";

export type { Addressing };

/** The network's addresses: the running network's when it exists, else what `net up` will pick. */
export function addressingFor(net: DesiredNetwork, existing?: NetworkSpec): Addressing {
  if (existing) return addressingOf(existing);
  const subnet = parseCidr(net.subnet);
  const plan = planAddresses(subnet);
  const range = net.dhcpRange ? parseDhcpRange(net.dhcpRange, subnet, plan.gateway) : undefined;
  return {
    subnet,
    gateway: plan.gateway,
    dhcpStart: range?.start ?? plan.dhcpStart,
    dhcpEnd: range?.end ?? plan.dhcpEnd,
  };
}

export interface IpPlan {
  ips: Map<string, string>;
  problems: FieldProblem[];
}

/**
 * `machines` are those of one network, in boot order; `reservations` the ledger's for it; `vip` the
 * network's API virtual IP, which no machine is given.
 */
export function planIps(
  machines: DesiredMachine[],
  addr: Addressing,
  reservations: Reservation[],
  vip?: string,
): IpPlan {
  const ips = new Map<string, string>();
  const problems: FieldProblem[] = [];
  const holder = new Map(reservations.map((r) => [r.ip, r.name]));
  const taken = new Set<number>(vip === undefined ? [] : [ipToInt(vip)]);
  for (const m of machines.filter((x) => x.ip !== undefined)) {
    const owner = holder.get(m.ip!);
    if (owner !== undefined && owner !== m.name) {
      problems.push({
        path: `${m.field}.ip`,
        message: `${m.ip} is reserved for ${owner} (hint: 'lab vm destroy ${owner} --forget' releases it)`,
      });
    }
    ips.set(m.name, m.ip!);
    taken.add(ipToInt(m.ip!));
  }
  const kept = new Map(reservations.map((r) => [r.name, r.ip]));
  const declared = new Set(machines.map((m) => m.name));
  for (const r of reservations) if (!declared.has(r.name)) taken.add(ipToInt(r.ip));
  const auto = machines.filter((m) => m.ip === undefined);
  for (const m of auto) {
    const ip = kept.get(m.name);
    if (ip !== undefined && !taken.has(ipToInt(ip))) {
      ips.set(m.name, ip);
      taken.add(ipToInt(ip));
    }
  }
  const free = freeStaticAddresses(addr, taken);
  let next = 0;
  for (const m of auto.filter((x) => !ips.has(x.name))) {
    const ip = free[next++];
    if (ip === undefined) {
      problems.push({
        path: m.field,
        message: `no free static address left in ${addr.subnet.text} for ${m.name} (outside the DHCP range ${addr.dhcpStart}-${addr.dhcpEnd})`,
      });
      continue;
    }
    ips.set(m.name, intToIp(ip));
  }
  return { ips, problems };
}
