import { describe, expect, it } from "vitest";
import {
  addressOverlap,
  intToIp,
  ipToInt,
  netmask,
  overlaps,
  parseCidr,
  parseDhcpRange,
  planAddresses,
  routeOverlap,
  staticCandidates,
  validateLabSubnet,
} from "../../src/net/cidr.js";

describe("cidr", () => {
  it("parses and normalises", () => {
    expect(parseCidr("172.16.11.0/24")).toMatchObject({ prefix: 24, text: "172.16.11.0/24" });
    expect(intToIp(ipToInt("10.1.2.3"))).toBe("10.1.2.3");
  });

  it("rejects host bits, garbage and non-private or oddly sized subnets with a hint", () => {
    expect(() => parseCidr("172.16.11.5/24")).toThrow(/host bits/);
    expect(() => parseCidr("172.16.11.0/33")).toThrow(/not an IPv4 CIDR/);
    expect(() => parseCidr("$(reboot)")).toThrow(/not an IPv4 CIDR/);
    // inet_aton spellings (octal, hex, short forms) are not taken as some other network.
    for (const odd of ["172.016.11.0/24", "172.16.0x0b.0/24", "172.16.11.0/024", "172.16.2816/24"])
      expect(() => parseCidr(odd), odd).toThrow(/not an IPv4 CIDR/);
    expect(() => validateLabSubnet("8.8.8.0/24")).toThrow(/not a private range/);
    expect(() => validateLabSubnet("10.0.0.0/8")).toThrow(/\/16 to \/29/);
    expect(() => validateLabSubnet("10.0.0.0/30")).toThrow(/\/16 to \/29/);
    expect(validateLabSubnet("192.168.7.0/29").prefix).toBe(29);
  });

  it("detects overlap in both directions and adjacency as disjoint", () => {
    const a = parseCidr("172.16.11.0/24");
    expect(overlaps(a, parseCidr("172.16.0.0/16"))).toBe(true);
    expect(overlaps(parseCidr("172.16.0.0/16"), a)).toBe(true);
    expect(overlaps(a, parseCidr("172.16.12.0/24"))).toBe(false);
    expect(overlaps(a, parseCidr("172.16.11.255/32"))).toBe(true);
  });

  it("plans gateway, dynamic range and static addresses", () => {
    const c = parseCidr("172.16.11.0/24");
    const plan = planAddresses(c);
    expect(plan).toEqual({ gateway: "172.16.11.1", dhcpStart: "172.16.11.128", dhcpEnd: "172.16.11.254" });
    const statics = staticCandidates(c, plan.gateway, plan.dhcpStart, plan.dhcpEnd);
    expect(intToIp(statics[0]!)).toBe("172.16.11.10");
    expect(statics.map(intToIp)).not.toContain("172.16.11.1");
    expect(statics.map(intToIp)).not.toContain("172.16.11.200");
    const small = parseCidr("192.168.7.0/29");
    const sp = planAddresses(small);
    expect(staticCandidates(small, sp.gateway, sp.dhcpStart, sp.dhcpEnd).map(intToIp)).toEqual([
      "192.168.7.2",
      "192.168.7.3",
    ]);
  });

  it("validates DHCP ranges", () => {
    const c = parseCidr("172.16.11.0/24");
    expect(parseDhcpRange("172.16.11.100-172.16.11.200", c, "172.16.11.1")).toEqual({
      start: "172.16.11.100",
      end: "172.16.11.200",
    });
    expect(() => parseDhcpRange("172.16.11.200-172.16.11.100", c, "172.16.11.1")).toThrow(/ascending/);
    expect(() => parseDhcpRange("172.16.11.1-172.16.11.100", c, "172.16.11.1")).toThrow(/gateway/);
    expect(() => parseDhcpRange("10.0.0.1-10.0.0.5", c, "172.16.11.1")).toThrow(/inside/);
    expect(() => parseDhcpRange("nonsense", c, "172.16.11.1")).toThrow(/START-END/);
  });
});

describe("netmask and host overlaps", () => {
  it("netmask is the prefix as a 32-bit mask", () => {
    expect(intToIp(netmask(24))).toBe("255.255.255.0");
    expect(intToIp(netmask(29))).toBe("255.255.255.248");
    expect(netmask(0)).toBe(0);
  });

  it("finds the host address and route a subnet overlaps, skipping lo, default and skipped devices", () => {
    const c = parseCidr("192.168.0.0/16");
    const addresses = [
      { ifname: "lo", local: "127.0.0.1", prefixlen: 8 },
      { ifname: "labbr0", local: "192.168.1.1", prefixlen: 24 },
      { ifname: "wlan0", local: "192.168.7.9", prefixlen: 24 },
    ];
    expect(addressOverlap(c, addresses)?.ifname).toBe("labbr0");
    expect(addressOverlap(c, addresses, (d) => d === "labbr0")?.ifname).toBe("wlan0");
    expect(addressOverlap(parseCidr("10.0.0.0/8"), addresses)).toBeUndefined();
    const routes = [
      { dst: "default", dev: "eth0" },
      { dst: "fe80::/64" },
      { dst: "192.168.50.7", dev: "eth0" },
    ];
    expect(routeOverlap(c, routes)?.dst).toBe("192.168.50.7");
    expect(routeOverlap(c, routes, (d) => d === "eth0")).toBeUndefined();
  });
});
