// The one allocator both `vm create` (one address against the ledger) and `lab up` (a whole
// network's plan) use: they must agree on which addresses a VM may hold and which comes next.
import { describe, expect, it } from "vitest";
import { planIps } from "../../src/lab/plan/ips.js";
import { intToIp, ipToInt } from "../../src/net/cidr.js";
import { addressingOf, fixedAddressProblem, freeStaticAddresses } from "../../src/net/static-ips.js";
import { emptyLedger, type NetworkSpec } from "../../src/state/ledger.js";
import { allocateIp } from "../../src/vm/identity.js";

const net = {
  name: "default",
  subnet: "172.16.11.0/24",
  gateway: "172.16.11.1",
  dhcpStart: "172.16.11.100",
  dhcpEnd: "172.16.11.200",
} as NetworkSpec;
const addr = addressingOf(net);

describe("static addresses", () => {
  it("names why an address cannot be a VM's own", () => {
    expect(fixedAddressProblem(addr, "172.16.11.0")).toBe("not-host");
    expect(fixedAddressProblem(addr, "172.16.11.255")).toBe("not-host");
    expect(fixedAddressProblem(addr, "10.0.0.5")).toBe("not-host");
    expect(fixedAddressProblem(addr, "172.16.11.1")).toBe("gateway");
    expect(fixedAddressProblem(addr, "172.16.11.150")).toBe("dhcp-range");
    expect(fixedAddressProblem(addr, "172.16.11.20")).toBeUndefined();
  });

  it("hands out .10 and up first, skipping taken ones and the DHCP range", () => {
    const free = freeStaticAddresses(addr, new Set([ipToInt("172.16.11.10")])).map(intToIp);
    expect(free.slice(0, 2)).toEqual(["172.16.11.11", "172.16.11.12"]);
    expect(free).not.toContain("172.16.11.150");
    expect(free).not.toContain("172.16.11.1");
  });

  it("vm create and lab up's plan pick the same next address", () => {
    const ledger = emptyLedger();
    ledger.identities.a = { mac: "52:54:00:00:00:01", ip: "172.16.11.10", network: "default", uuid: "u" };
    const one = allocateIp(ledger, net, "b");
    const plan = planIps([{ name: "b", field: "machines[0]", network: "default" } as never], addr, [
      { name: "a", mac: "52:54:00:00:00:01", ip: "172.16.11.10" },
    ]);
    expect(one).toBe("172.16.11.11");
    expect(plan.ips.get("b")).toBe(one);
  });
});
