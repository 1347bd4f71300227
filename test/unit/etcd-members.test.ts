import { describe, expect, it } from "vitest";
import { clientUrls, etcdContact, etcdMembers, initialCluster } from "../../src/etcd/members.js";
import { etcdEndpoint } from "../../src/vm/files.js";

const vm = (name: string, role: string, network = "default", ip?: string, state?: string) => ({
  name,
  role,
  network,
  ip,
  state,
});

describe("etcdMembers: the one rule for the lab's etcd machines", () => {
  it("is every etcd machine of the network, in name order, whatever the input order", () => {
    const ms = [vm("etcd-3", "etcd"), vm("node", "kubernetes"), vm("etcd-1", "etcd"), vm("etcd-2", "etcd")];
    expect(etcdMembers(ms).map((m) => m.name)).toEqual(["etcd-1", "etcd-2", "etcd-3"]);
    expect(etcdMembers(ms, "other")).toEqual([]);
  });

  it("without a network takes the network of the first etcd machine by name", () => {
    const ms = [vm("b-etcd", "etcd", "two"), vm("a-etcd", "etcd", "one"), vm("c-etcd", "etcd", "one")];
    expect(etcdMembers(ms).map((m) => m.name)).toEqual(["a-etcd", "c-etcd"]);
  });

  it("contacts the first running member with an address, else the first member", () => {
    const ms = [
      vm("etcd-1", "etcd", "default", "10.0.0.1", "stopped"),
      vm("etcd-2", "etcd", "default", "10.0.0.2", "running"),
    ];
    expect(etcdContact(ms)?.name).toBe("etcd-2");
    expect(etcdContact([ms[0]!])?.name).toBe("etcd-1");
    expect(etcdContact([])).toBeUndefined();
  });

  it("gives clients every member and etcd its initial cluster", () => {
    const ms = [vm("etcd-1", "etcd", "default", "10.0.0.1"), vm("etcd-2", "etcd", "default", "10.0.0.2")];
    expect(clientUrls(ms)).toBe("http://10.0.0.1:2379,http://10.0.0.2:2379");
    expect(initialCluster(ms)).toBe("etcd-1=http://10.0.0.1:2380,etcd-2=http://10.0.0.2:2380");
  });
});

describe("etcdEndpoint (cloud-config, from the ledger)", () => {
  const net = { domain: "lab" } as never;
  const ledger = (vms: [string, string, string][]) =>
    ({
      vms: Object.fromEntries(vms.map(([n, r]) => [n, { name: n, role: r, network: "default" }])),
      identities: Object.fromEntries(vms.map(([n, , ip]) => [n, { ip }])),
    }) as never;

  it("single etcd machine: itself for itself, its address for the others (unchanged)", () => {
    const l = ledger([["etcd", "etcd", "10.0.0.10"]]);
    expect(
      etcdEndpoint(
        l,
        { name: "etcd", role: "etcd", network: "default" } as never,
        { ip: "10.0.0.10" } as never,
        net,
      ),
    ).toBe("http://10.0.0.10:2379");
    expect(
      etcdEndpoint(
        l,
        { name: "n1", role: "kubernetes", network: "default" } as never,
        { ip: "10.0.0.11" } as never,
        net,
      ),
    ).toBe("http://10.0.0.10:2379");
  });

  it("several members: every one, in name order, whichever was created first", () => {
    const l = ledger([
      ["etcd-2", "etcd", "10.0.0.12"],
      ["etcd-1", "etcd", "10.0.0.11"],
    ]);
    expect(
      etcdEndpoint(
        l,
        { name: "n1", role: "kubernetes", network: "default" } as never,
        { ip: "10.0.0.20" } as never,
        net,
      ),
    ).toBe("http://10.0.0.11:2379,http://10.0.0.12:2379");
  });

  it("no etcd machine: the DNS name", () => {
    expect(
      etcdEndpoint(
        ledger([]),
        { name: "n1", role: "kubernetes", network: "default" } as never,
        { ip: "10.0.0.20" } as never,
        net,
      ),
    ).toBe("http://etcd.lab:2379");
  });
});
