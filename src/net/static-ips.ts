// The one IP allocator for VMs: which addresses of a lab network a VM may hold as its own (a host
// address, not the gateway, outside the DHCP range dnsmasq hands out), and which one comes next.
// `lab vm create` (vm/identity.ts) takes one address at a time against the ledger; `lab up`
// (lab/plan/ips.ts) plans a whole network's machines at once. Both ask here. Pure.
import { type Cidr, ipToInt, isHostAddress, parseCidr, staticCandidates } from "./cidr.js";

export interface Addressing {
  subnet: Cidr;
  gateway: string;
  dhcpStart: string;
  dhcpEnd: string;
}

/** A running network's addresses, from its ledger record. */
export function addressingOf(net: {
  subnet: string;
  gateway: string;
  dhcpStart: string;
  dhcpEnd: string;
}): Addressing {
  return {
    subnet: parseCidr(net.subnet),
    gateway: net.gateway,
    dhcpStart: net.dhcpStart,
    dhcpEnd: net.dhcpEnd,
  };
}

export type FixedAddressProblem = "not-host" | "gateway" | "dhcp-range";

/** Why `ip` cannot be a VM's fixed address in this network, or undefined when it can. */
export function fixedAddressProblem(addr: Addressing, ip: string): FixedAddressProblem | undefined {
  const n = ipToInt(ip);
  if (!isHostAddress(addr.subnet, n)) return "not-host";
  if (n === ipToInt(addr.gateway)) return "gateway";
  if (n >= ipToInt(addr.dhcpStart) && n <= ipToInt(addr.dhcpEnd)) return "dhcp-range";
  return undefined;
}

/** How many static addresses the network has for VMs. */
export function staticRoom(addr: Addressing): number {
  return staticCandidates(addr.subnet, addr.gateway, addr.dhcpStart, addr.dhcpEnd).length;
}

/** The free static addresses (as numbers), in the order they are handed out (.10 and up first on a /24). */
export function freeStaticAddresses(addr: Addressing, taken: Set<number>): number[] {
  return staticCandidates(addr.subnet, addr.gateway, addr.dhcpStart, addr.dhcpEnd).filter(
    (ip) => !taken.has(ip),
  );
}
