import { describe, expect, it } from "vitest";
import { emptyLedger, type NetworkSpec } from "../../src/state/ledger.js";
import type { ReadRecord, VmRecord } from "../../src/vm/record.js";
import { planRecover } from "../../src/vm/recover-plan.js";

const net: NetworkSpec = {
  name: "default",
  subnet: "172.16.11.0/24",
  gateway: "172.16.11.1",
  prefix: 24,
  bridge: "labbr0",
  domain: "lab",
  dhcpStart: "172.16.11.128",
  dhcpEnd: "172.16.11.254",
  createdAt: "2026-01-01T00:00:00.000Z",
};

function record(name: string, mac: string, ip: string, network = net): ReadRecord {
  const r: VmRecord = {
    version: 1,
    ledgerId: "old",
    spec: {
      name,
      role: "etcd",
      image: "lab-test",
      memoryMiB: 256,
      cpus: 1,
      network: network.name,
      sshKeys: [],
      configDrive: "iso",
      restart: "no",
      accel: "auto",
      wantRunning: true,
      createdAt: `2026-01-02T00:00:0${name.length}.000Z`,
    },
    identity: { mac, ip, network: network.name, uuid: `uuid-${name}` },
    network,
  };
  return { ok: true, record: r };
}

describe("lab recover planning", () => {
  it("restores VMs and the network their records name into an empty ledger", () => {
    const plan = planRecover(
      emptyLedger(),
      new Map([
        ["a", record("a", "52:54:00:00:00:01", "172.16.11.10")],
        ["bb", record("bb", "52:54:00:00:00:02", "172.16.11.11")],
      ]),
    );
    expect(plan.networks).toEqual([expect.objectContaining({ name: "default", action: "restore" })]);
    expect(plan.vms.map((v) => [v.name, v.action])).toEqual([
      ["a", "restore"],
      ["bb", "restore"],
    ]);
    expect(plan.add.networks).toEqual([net]);
  });

  it("skips what would collide with the ledger, and directories without a readable record", () => {
    const ledger = emptyLedger();
    ledger.networks.default = { ...net, subnet: "172.16.12.0/24" };
    ledger.identities.x = { mac: "52:54:00:00:00:09", ip: "10.0.0.9", network: "other", uuid: "u" };
    const other = { ...net, name: "other", bridge: "labbr-other", subnet: "10.0.0.0/24" };
    ledger.networks.other = other;
    const plan = planRecover(
      ledger,
      new Map<string, ReadRecord>([
        ["a", record("a", "52:54:00:00:00:01", "172.16.11.10")],
        ["bb", record("bb", "52:54:00:00:00:09", "10.0.0.5", other)],
        ["ccc", { ok: false, why: "no vm.json" }],
      ]),
    );
    expect(plan.vms).toEqual([
      { name: "a", action: "skip", why: expect.stringMatching(/network default now has subnet/) },
      { name: "bb", action: "skip", why: expect.stringMatching(/MAC 52:54:00:00:00:09/) },
      { name: "ccc", action: "skip", why: "no vm.json" },
    ]);
    expect(plan.add).toEqual({ networks: [], vms: [] });
  });
});
