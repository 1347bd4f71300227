// `net up` against a recording fake host: the order it changes the host in, that it looks before
// it acts, and that a failure halfway undoes what it did in reverse (the integration tests prove
// the same with real OVS, iptables and dnsmasq; this pins the sequence and the failure paths).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LabContext } from "../../src/context.js";
import type { Dnsmasq } from "../../src/net/dnsmasq.js";
import { netUp } from "../../src/net/network.js";
import type { OvsInstance } from "../../src/net/ovs-instance.js";
import type { EventLog } from "../../src/state/events.js";
import { LedgerStore } from "../../src/state/ledger.js";
import { Mutex } from "../../src/state/mutex.js";
import { type Answer, fakeHost } from "../helpers/fake-host.js";

// The unit test must not switch on the host's forwarding.
vi.mock("../../src/host/sysctl.js", () => ({
  enableIpForwarding: async () => {},
  ipForwarding: async () => true,
}));

const DB = "/fake/ovs/db.sock";
const FILTER = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n";
const NAT = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lab-net-apply-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Answers for a host with no lab network: empty ip listings, no bridge, empty lab chains. */
function emptyHost(extra: Answer[] = []) {
  return fakeHost([
    ...extra,
    { match: ["ip", "-j", "-4", "addr", "show"], stdout: "[]" },
    { match: ["ip", "-j", "-4", "route"], stdout: "[]" },
    { match: ["ip", "-j", "link", "show", "dev"], exitCode: 1, stderr: "Device does not exist" },
    { match: ["ip", "-j", "link", "show"], stdout: "[]" },
    { match: (a) => a[0] === "ovs-vsctl" && a.includes("br-exists"), exitCode: 2 },
    { match: ["iptables", "-w", "-t", "filter", "-S"], stdout: FILTER },
    { match: ["iptables", "-w", "-t", "nat", "-S"], stdout: NAT },
  ]);
}

async function context(host: ReturnType<typeof fakeHost>) {
  const dnsmasq = { started: [] as string[], stopped: [] as string[] };
  const ctx = {
    host,
    ledger: await LedgerStore.open(path.join(dir, "ledger.json")),
    events: { emit: () => {} } as unknown as EventLog,
    ovs: {
      describe: () => ({ kind: "host", dbSock: DB, datapath: "netdev" }),
      ensure: async () => ({ endpoint: { kind: "host", dbSock: DB, datapath: "netdev" }, started: false }),
      privateRunning: () => ({ db: true, vswitchd: true }),
    } as unknown as OvsInstance,
    dnsmasq: {
      pid: () => undefined,
      ensure: async (spec: { name: string }) => {
        dnsmasq.started.push(spec.name);
        return true;
      },
      stop: async (name: string) => {
        dnsmasq.stopped.push(name);
      },
    } as unknown as Dnsmasq,
    lock: new Mutex(),
    watcher: { watch: () => {}, forget: () => {} },
  } as unknown as LabContext;
  return { ctx, dnsmasq };
}

const changesOnly = (lines: string[]) =>
  lines
    .filter((l) => !/ -S$| show| br-exists |^ip -j /.test(l))
    .map((l) => l.replace(/^ovs-vsctl --db=\S+ /, "ovs-vsctl "));

describe("net up on a recording host", () => {
  it("creates the bridge, its address, the rules, then dnsmasq, in that order, and records the network first", async () => {
    const host = emptyHost();
    const { ctx, dnsmasq } = await context(host);
    const r = await netUp(ctx, { name: "n1", subnet: "172.16.40.0/24" });
    expect(r.changed).toEqual(["ledger", "bridge", "address", "iptables", "dnsmasq"]);
    expect(ctx.ledger.read().networks.n1?.gateway).toBe("172.16.40.1");
    const changes = changesOnly(host.lines());
    const bridge = r.network.bridge;
    expect(changes[0]).toMatch(new RegExp(`^ovs-vsctl .*add-br ${bridge}`));
    expect(changes[1]).toBe(`ip addr replace 172.16.40.1/24 dev ${bridge}`);
    expect(changes[2]).toBe(`ip link set dev ${bridge} up`);
    expect(changes.slice(3).every((l) => l.startsWith("iptables -w "))).toBe(true);
    expect(changes.some((l) => l.includes("MASQUERADE") && l.includes("lab:n1"))).toBe(true);
    expect(dnsmasq.started).toEqual(["n1"]);
  });

  it("undoes in reverse when iptables fails: rules looked up and removed, bridge deleted, network forgotten", async () => {
    const failing: Answer = {
      match: (a) => a[0] === "iptables" && a.includes("MASQUERADE"),
      exitCode: 4,
      stderr: "iptables: Resource temporarily unavailable.",
    };
    const host = emptyHost([failing]);
    const { ctx, dnsmasq } = await context(host);
    await expect(netUp(ctx, { name: "n1", subnet: "172.16.40.0/24" })).rejects.toThrow(
      /Resource temporarily/,
    );
    expect(ctx.ledger.read().networks.n1).toBeUndefined();
    expect(dnsmasq.started).toEqual([]);
    const lines = host.lines();
    const failedAt = lines.findIndex((l) => l.includes("MASQUERADE"));
    const after = lines.slice(failedAt + 1);
    // The rules' undo reads the tables again before removing what carries the network's tag…
    expect(after.findIndex((l) => l.endsWith("-t filter -S"))).toBeGreaterThanOrEqual(0);
    // …and the bridge goes after them (undo runs in reverse order of doing).
    const delBr = after.findIndex((l) => / del-br /.test(l));
    expect(delBr).toBeGreaterThan(after.findIndex((l) => l.endsWith("-t filter -S")));
  });

  it("refuses a subnet that overlaps the host's own before touching anything", async () => {
    const host = emptyHost([
      {
        match: ["ip", "-j", "-4", "addr", "show"],
        stdout: JSON.stringify([
          { ifname: "eth0", addr_info: [{ family: "inet", local: "172.16.40.5", prefixlen: 24 }] },
        ]),
        times: 1,
      },
    ]);
    const { ctx } = await context(host);
    await expect(netUp(ctx, { name: "n1", subnet: "172.16.40.0/24" })).rejects.toThrow(/overlap|172\.16\.40/);
    expect(changesOnly(host.lines())).toEqual([]);
    expect(ctx.ledger.read().networks.n1).toBeUndefined();
  });
});
