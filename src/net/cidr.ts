// IPv4 subnet arithmetic and the rules a lab subnet must follow. Parsing is ipaddr.js's;
// ranges are plain 32-bit integers so overlap and allocation stay simple.
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.js";
import type { HostAddress, HostRoute } from "../host/ip.js";

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  text: string;
}

/**
 * Only canonical dotted-quad decimal: ipaddr.js (like inet_aton) also takes `010` as octal, `0x14`
 * as hex and `1.2.3` as three parts, which dnsmasq and the guest read differently or not at all.
 */
const DOTTED_QUAD = /^(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}$/;

export function isCanonicalIpv4(text: string): boolean {
  return DOTTED_QUAD.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** The address as written, if it is canonical; `field` names it in the error. */
export function parseIpv4(text: string, field = "address"): string {
  if (typeof text !== "string" || !isCanonicalIpv4(text)) {
    throw new UsageError(`${field} ${JSON.stringify(text)} is not an IPv4 address`, {
      hint: "write four decimal numbers 0-255 without leading zeros, e.g. 172.16.11.20",
    });
  }
  return text;
}

export const ipToInt = (ip: string): number => {
  const bytes = ipaddr.IPv4.parse(parseIpv4(ip)).toByteArray();
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
};

export const intToIp = (n: number): string =>
  [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** The netmask of a prefix length as an unsigned 32-bit integer (/24 → 255.255.255.0). */
export const netmask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export const size = (c: Cidr): number => 2 ** (32 - c.prefix);
export const lastAddress = (c: Cidr): number => c.base + size(c) - 1;

export function parseCidr(text: string, field = "subnet"): Cidr {
  const [address, prefixText, ...rest] = typeof text === "string" ? text.split("/") : [];
  if (
    !ipaddr.IPv4.isValidCIDR(text) ||
    rest.length > 0 ||
    !isCanonicalIpv4(address ?? "") ||
    !/^(?:0|[1-9][0-9]?)$/.test(prefixText ?? "")
  ) {
    throw new UsageError(`${field} ${JSON.stringify(text)} is not an IPv4 CIDR`, {
      hint: "write it as ADDRESS/PREFIX, e.g. 172.16.11.0/24",
    });
  }
  const [addr, prefix] = ipaddr.IPv4.parseCIDR(text);
  const ip = ipToInt(addr.toString());
  const base = (ip & netmask(prefix)) >>> 0;
  if (base !== ip) {
    throw new UsageError(`${field} ${text} has host bits set`, {
      hint: `did you mean ${intToIp(base)}/${prefix}?`,
    });
  }
  return { base, prefix, text: `${intToIp(base)}/${prefix}` };
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip <= lastAddress(c);
}

/** Inside the subnet and neither its network nor its broadcast address. */
export function isHostAddress(c: Cidr, ip: number): boolean {
  return contains(c, ip) && ip !== c.base && ip !== lastAddress(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

/** The subnet a host address sits in (`192.168.7.9/24` → base 192.168.7.0), named as written. */
export function addressCidr(a: HostAddress): Cidr {
  return {
    base: (ipToInt(a.local) & netmask(a.prefixlen)) >>> 0,
    prefix: a.prefixlen,
    text: `${a.local}/${a.prefixlen}`,
  };
}

/** The first host address (not on lo, nor on a skipped device) whose subnet `c` overlaps. */
export function addressOverlap(
  c: Cidr,
  addresses: readonly HostAddress[],
  skip: (dev: string) => boolean = () => false,
): HostAddress | undefined {
  return addresses.find((a) => a.ifname !== "lo" && !skip(a.ifname) && overlaps(c, addressCidr(a)));
}

/** The first host route to an IPv4 destination (not default, nor via a skipped device) that `c` overlaps. */
export function routeOverlap(
  c: Cidr,
  routes: readonly HostRoute[],
  skip: (dev: string) => boolean = () => false,
): HostRoute | undefined {
  return routes.find((r) => {
    if (r.dst === "default" || !/^[0-9.]+(\/\d+)?$/.test(r.dst)) return false;
    if (r.dev && skip(r.dev)) return false;
    return overlaps(c, parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`, "route"));
  });
}

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((t) => parseCidr(t));

export function isPrivate(c: Cidr): boolean {
  return PRIVATE.some((p) => contains(p, c.base) && contains(p, lastAddress(c)));
}

/** A lab subnet: private IPv4, between /16 and /29. */
export function validateLabSubnet(text: string): Cidr {
  const c = parseCidr(text);
  if (c.prefix < 16 || c.prefix > 29) {
    throw new UsageError(`subnet ${c.text} has prefix /${c.prefix}; a lab subnet must be /16 to /29`, {
      hint: "use e.g. 172.16.11.0/24",
    });
  }
  if (!isPrivate(c)) {
    throw new UsageError(`subnet ${c.text} is not a private range`, {
      hint: "use part of 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
    });
  }
  return c;
}

export interface AddressPlan {
  gateway: string;
  dhcpStart: string;
  dhcpEnd: string;
}

/**
 * Gateway is the first host. The dynamic DHCP range is the upper half of the hosts; static
 * reservations for VMs come from the lower half, starting at .10 when the subnet is big enough
 * (the original lab put its etcd machine at 172.16.11.10).
 */
export function planAddresses(c: Cidr): AddressPlan {
  const first = c.base + 1;
  const last = lastAddress(c) - 1;
  const hosts = last - first + 1;
  const dynStart = first + Math.floor(hosts / 2);
  return { gateway: intToIp(first), dhcpStart: intToIp(dynStart), dhcpEnd: intToIp(last) };
}

export function parseDhcpRange(text: string, c: Cidr, gateway: string): { start: string; end: string } {
  const m = /^([0-9.]+)\s*[-,]\s*([0-9.]+)$/.exec(text.trim());
  if (!m || !isCanonicalIpv4(m[1]!) || !isCanonicalIpv4(m[2]!)) {
    throw new UsageError(`DHCP range ${JSON.stringify(text)} is not START-END`, {
      hint: "e.g. --dhcp-range 172.16.11.100-172.16.11.200",
    });
  }
  const start = ipToInt(m[1]!);
  const end = ipToInt(m[2]!);
  const gw = ipToInt(gateway);
  if (!(contains(c, start) && contains(c, end)) || start > end || start <= c.base || end >= lastAddress(c)) {
    throw new UsageError(`DHCP range ${text} must be an ascending range of host addresses inside ${c.text}`);
  }
  if (gw >= start && gw <= end) throw new UsageError(`DHCP range ${text} contains the gateway ${gateway}`);
  return { start: intToIp(start), end: intToIp(end) };
}

/** Addresses a VM may be given statically: hosts outside the gateway and the dynamic range. */
export function staticCandidates(c: Cidr, gateway: string, dhcpStart: string, dhcpEnd: string): number[] {
  const gw = ipToInt(gateway);
  const ds = ipToInt(dhcpStart);
  const de = ipToInt(dhcpEnd);
  const first = c.base + 1;
  const last = lastAddress(c) - 1;
  const preferredStart = size(c) >= 64 ? c.base + 10 : first;
  const out: number[] = [];
  for (let ip = first; ip <= last; ip++) {
    if (ip === gw || (ip >= ds && ip <= de)) continue;
    out.push(ip);
  }
  // Prefer .10 and up, then the low addresses, so a /24 gives .10, .11, ... like the original.
  return [...out.filter((ip) => ip >= preferredStart), ...out.filter((ip) => ip < preferredStart)];
}
