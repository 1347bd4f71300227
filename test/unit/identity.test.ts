import { describe, expect, it } from "vitest";
import { checkInvariants, emptyLedger, type Ledger } from "../../src/state/ledger.js";
import { allocateIp, allocateMac, planIdentity } from "../../src/vm/identity.js";

const net = {
  name: "default",
  subnet: "172.16.11.0/24",
  prefix: 24,
  gateway: "172.16.11.1",
  bridge: "labbr0",
  domain: "lab",
  dhcpStart: "172.16.11.128",
  dhcpEnd: "172.16.11.254",
  createdAt: "2026-01-01T00:00:00Z",
};

function ledgerWith(n: number): Ledger {
  const l = emptyLedger();
  l.networks.default = net;
  for (let i = 0; i < n; i++) l.identities[`vm${i}`] = planIdentity(l, net, `vm${i}`);
  return l;
}

describe("identity allocation", () => {
  it("gives MACs with qemu's prefix and never a taken one", () => {
    const l = ledgerWith(0);
    l.identities.a = { mac: "52:54:00:00:00:01", ip: "172.16.11.10", network: "default", uuid: "u" };
    const bytes = [Buffer.from([0, 0, 1]), Buffer.from([0, 0, 2])];
    const mac = allocateMac(l, () => bytes.shift()!);
    expect(mac).toBe("52:54:00:00:00:02");
    expect(allocateMac(l)).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it("hands out .10, .11, ... outside the dynamic range, all distinct", () => {
    const l = ledgerWith(120);
    const ips = Object.values(l.identities).map((i) => i.ip);
    expect(ips[0]).toBe("172.16.11.10");
    expect(ips[1]).toBe("172.16.11.11");
    expect(new Set(ips).size).toBe(120);
    expect(new Set(Object.values(l.identities).map((i) => i.mac)).size).toBe(120);
    expect(() => checkInvariants(l)).not.toThrow();
    for (const ip of ips) expect(Number(ip.split(".")[3])).toBeLessThan(128);
  });

  it("keeps the identity of a name and honours a free --ip", () => {
    const l = ledgerWith(2);
    expect(planIdentity(l, net, "vm1")).toEqual(l.identities.vm1);
    const moved = planIdentity(l, net, "vm1", "172.16.11.50");
    expect(moved.mac).toBe(l.identities.vm1!.mac);
    expect(moved.ip).toBe("172.16.11.50");
  });

  it("refuses a taken, foreign or special --ip", () => {
    const l = ledgerWith(2);
    expect(() => allocateIp(l, net, "new", "172.16.11.10")).toThrow(/reserved for vm0/);
    expect(() => allocateIp(l, net, "new", "10.0.0.5")).toThrow(/not a usable host/);
    expect(() => allocateIp(l, net, "new", "172.16.11.1")).toThrow(/not a usable host/);
    expect(() => allocateIp(l, net, "new", "nonsense")).toThrow(/not an IPv4/);
  });

  it("takes only canonical dotted quads: .024 and .0x14 are not .20, nor another address", () => {
    const l = ledgerWith(0);
    l.identities.a = { mac: "52:54:00:00:00:01", ip: "172.16.11.20", network: "default", uuid: "u" };
    for (const odd of [
      "172.16.11.024",
      "172.16.11.0x14",
      "172.16.11.020",
      "172.16.2836",
      "172.16.11.20 ",
      "0x.1.1.1",
    ])
      expect(() => allocateIp(l, net, "new", odd), odd).toThrow(/not an IPv4 address/);
    expect(() => allocateIp(l, net, "new", "172.16.11.20")).toThrow(/reserved for a/);
    expect(allocateIp(l, net, "new", "172.16.11.21")).toBe("172.16.11.21");
    expect(allocateIp(l, net, "new", "172.16.11.100")).toBe("172.16.11.100");
  });

  it("refuses an --ip inside the network's DHCP range", () => {
    const l = ledgerWith(0);
    for (const ip of ["172.16.11.128", "172.16.11.200", "172.16.11.254"])
      expect(() => allocateIp(l, net, "new", ip), ip).toThrow(
        /inside the DHCP range 172.16.11.128-172.16.11.254/,
      );
    expect(allocateIp(l, net, "new", "172.16.11.127")).toBe("172.16.11.127");
  });

  it("says so when the subnet is full", () => {
    const small = {
      ...net,
      subnet: "192.168.7.0/29",
      prefix: 29,
      gateway: "192.168.7.1",
      dhcpStart: "192.168.7.4",
      dhcpEnd: "192.168.7.6",
    };
    const l = emptyLedger();
    l.identities.a = planIdentity(l, small, "a");
    l.identities.b = planIdentity(l, small, "b");
    expect(() => planIdentity(l, small, "c")).toThrow(/no free address/);
  });

  it("the ledger refuses a MAC or IP held twice", () => {
    const l = ledgerWith(2);
    l.identities.vm1!.ip = l.identities.vm0!.ip;
    expect(() => checkInvariants(l)).toThrow(/held by both/);
  });
});
