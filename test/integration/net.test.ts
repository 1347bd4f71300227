// lab net up/down with real OVS, iptables and dnsmasq inside namespaces this test creates:
// H is the lab host, C a client on the bridge, O the outside world behind H's uplink.

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Network } from "../../src/api/networks.js";
import { childProcesses, createLabEnv, iptablesSave, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs, vethPair } from "../helpers/netns.js";
import { dnsProbe, tcpProbe } from "../helpers/probe.js";
import { skipUnless } from "../helpers/require.js";
import { waitUntil } from "../helpers/wait.js";

const skip = skipUnless(["ovs-vswitchd", "dnsmasq", "iptables", "busybox", "ip"]);

describe.skipIf(skip)("lab net (real OVS, iptables, dnsmasq in namespaces)", () => {
  let host: string;
  let client: string;
  let outside: string;
  let lab: LabEnv;
  let tmp: string;
  let clientIp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "lab-net-"));
    host = await createNetns("labH");
    client = await createNetns("labC");
    outside = await createNetns("labO");
    // H's uplink to the outside world; O routes nothing back to the lab subnet, so only NAT works.
    await vethPair(host, "up0", outside, "out0");
    await inNs(host, ["ip", "addr", "add", "10.99.0.2/24", "dev", "up0"]);
    await inNs(host, ["ip", "route", "add", "default", "via", "10.99.0.1"]);
    await inNs(outside, ["ip", "addr", "add", "10.99.0.1/24", "dev", "out0"]);
    // Another tool (Docker) may have set the FORWARD policy to DROP: lab must still forward.
    await inNs(host, ["iptables", "-P", "FORWARD", "DROP"]);
    lab = await createLabEnv(host);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function attachClient(mac?: string): Promise<void> {
    await vethPair(host, "cport0", client, "c0");
    if (mac) await inNs(client, ["ip", "link", "set", "c0", "address", mac]);
    // Like lab's own taps: a port of the userspace datapath must not answer ARP in the host stack.
    await inNs(host, ["ip", "link", "set", "cport0", "arp", "off"]);
    await inNs(host, ["ovs-vsctl", `--db=unix:${lab.run}/ovs/db.sock`, "add-port", "labbr0", "cport0"]);
  }

  async function dhcp(): Promise<Record<string, string>> {
    const out = path.join(tmp, "lease");
    await inNs(client, [
      "env",
      `LEASE_OUT=${out}`,
      "busybox",
      "udhcpc",
      "-i",
      "c0",
      "-q",
      "-n",
      "-t",
      "10",
      "-T",
      "1",
      "-s",
      path.join(repoRoot, "test/helpers/udhcpc.sh"),
    ]);
    const text = await readFile(out, "utf8");
    return Object.fromEntries(
      text
        .trim()
        .split(" ")
        .map((kv) => kv.split("=") as [string, string]),
    );
  }

  it("refuses bad input and leaves the host unchanged", async () => {
    const before = { links: await links(host), rules: await iptablesSave(host) };
    const cases: [string[], RegExp][] = [
      [["net", "up", "--subnet", "172.16.11.0/33"], /not an IPv4 CIDR/],
      [["net", "up", "--subnet", "10.99.0.0/24"], /overlaps 10\.99\.0\.2\/24 on up0/],
      [["net", "up", "--subnet", "8.8.8.0/24"], /not a private range/],
      [["net", "up", "waytoolongname"], /invalid network name/],
      [["net", "up", "x", "--bridge", "bridge-name-too-long"], /invalid interface name/],
      [["net", "up", "--subnet", "172.16.11.0/24", "--dhcp-range", "1.2.3.4-1.2.3.9"], /DHCP range/],
    ];
    for (const [args, message] of cases) {
      const r = await lab.lab(args, { reject: false });
      expect(r.exitCode, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint:|error:/);
    }
    expect(await links(host)).toEqual(before.links);
    expect(await iptablesSave(host)).toEqual(before.rules);
    expect(await childProcesses(lab)).toEqual([]);
    const status = await lab.labJson<unknown[]>(["net", "status"]);
    expect(status).toEqual([]);
  });

  it("rolls back everything when a step fails halfway", async () => {
    await lab.lab(["daemon", "stop"]);
    const r = await lab.lab(["net", "up"], { reject: false, env: { LAB_FAULTS: "net-up:dnsmasq" } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/injected fault at net-up:dnsmasq/);
    expect(await links(host)).not.toContain("labbr0");
    expect(await iptablesSave(host)).toEqual([]);
    expect(await childProcesses(lab)).toEqual([]);
    expect(await lab.labJson<unknown[]>(["net", "status"])).toEqual([]);
    await lab.lab(["daemon", "stop"]);
  });

  it("brings up bridge, NAT and DHCP; a client gets a lease and reaches the outside through NAT", async () => {
    const up = await lab.lab(["net", "up"]);
    expect(up.stdout).toMatch(/network default: up/);
    expect(await links(host)).toContain("labbr0");
    await attachClient();
    const lease = await dhcp();
    expect(lease.router).toBe("172.16.11.1");
    const [a, b, c, d] = lease.ip!.split(".").map(Number);
    expect([a, b, c]).toEqual([172, 16, 11]);
    expect(d).toBeGreaterThanOrEqual(128);
    clientIp = lease.ip!;
    // The outside world sees the client's connection arrive from H's uplink address.
    const server = inNs(outside, [
      process.execPath,
      "-e",
      `const s=require("net").createServer(c=>{console.log(c.remoteAddress);c.end();s.close()});
       s.listen(8080,"10.99.0.1",()=>console.log("listening"));setTimeout(()=>process.exit(3),15000).unref()`,
    ]);
    await waitUntil(
      async () => String((await inNs(outside, ["ss", "-Hltn", "sport = :8080"])).stdout).trim(),
      {
        what: "the outside server to listen on 10.99.0.1:8080",
        interval: 50,
      },
    );
    await inNs(client, ["busybox", "sh", "-c", "echo hello | busybox nc -w 2 10.99.0.1 8080"], {
      reject: false,
    });
    const seen = String((await server).stdout)
      .trim()
      .split("\n");
    expect(seen).toEqual(["listening", "10.99.0.2"]);
  });

  it("a second net up changes nothing", async () => {
    const rules = await iptablesSave(host);
    const procs = await childProcesses(lab);
    const r = await lab.lab(["net", "up"]);
    expect(r.stdout).toMatch(/already up, nothing changed/);
    expect(await iptablesSave(host)).toEqual(rules);
    expect(await childProcesses(lab)).toEqual(procs);
  });

  it("the outside world reaches neither lab's services nor its clients; clients still reach both", async () => {
    // The worst host: FORWARD policy ACCEPT, and an outside router that routes the lab subnet to H.
    await inNs(host, ["iptables", "-P", "FORWARD", "ACCEPT"]);
    await inNs(outside, ["ip", "route", "replace", "172.16.11.0/24", "via", "10.99.0.2"]);
    const listener = execa("ip", [
      "netns",
      "exec",
      client,
      process.execPath,
      "-e",
      `const s=require("net").createServer(c=>{c.on("error",()=>{});c.end("hi")});s.listen(7000,()=>console.log("listening"));
       setTimeout(()=>process.exit(0),60000).unref()`,
    ]);
    try {
      // Each probe answers from inside: the services and the client's port are there.
      expect(await tcpProbe(client, "172.16.11.1", 8080)).toBe("open");
      expect(await dnsProbe(client, "172.16.11.1", "gw.lab")).toBe("answer");
      await expect.poll(() => tcpProbe(host, clientIp, 7000), { timeout: 10_000 }).toBe("open");
      // ...and not from the outside.
      expect(await tcpProbe(outside, "172.16.11.1", 8080)).toBe("timeout");
      expect(await tcpProbe(outside, "172.16.11.1", 53)).toBe("timeout");
      expect(await dnsProbe(outside, "172.16.11.1", "gw.lab")).toBe("timeout");
      expect(await tcpProbe(outside, clientIp, 7000)).toBe("timeout");
      // Replies to what the client started still come back (NAT, conntrack).
      const server = inNs(outside, [
        process.execPath,
        "-e",
        `const s=require("net").createServer(c=>{c.end();s.close()});s.listen(8081,"10.99.0.1");
         setTimeout(()=>process.exit(3),15000).unref()`,
      ]);
      await expect.poll(() => tcpProbe(client, "10.99.0.1", 8081), { timeout: 10_000 }).toBe("open");
      await server;
    } finally {
      listener.kill("SIGKILL"); // `ip netns exec` execs node: this pid is the listener
      await listener.catch(() => undefined);
      await inNs(outside, ["ip", "route", "del", "172.16.11.0/24"]);
      await inNs(host, ["iptables", "-P", "FORWARD", "DROP"]);
    }
  });

  it("several networks coexist and go down independently", async () => {
    await lab.lab(["net", "up", "second", "--subnet", "192.168.77.0/24", "--domain", "two.test"]);
    // One JSON shape per network: `net list` and `net status` print the same Network objects,
    // with the table's columns (dnsmasq, reservations) and ovs as an object; absent values null.
    const list = await lab.labJson<Network[]>(["net", "list"]);
    expect(list.map((n) => n.network.name).sort()).toEqual(["default", "second"]);
    for (const n of list) {
      expect(n).toEqual({
        network: expect.objectContaining({ name: n.network.name, bridge: expect.any(String) }),
        ovs: expect.objectContaining({ kind: "private" }),
        bridge: true,
        rules: true,
        dnsmasqPid: expect.any(Number),
        reservations: [],
      });
    }
    expect(await lab.labJson<Network[]>(["net", "status", "second"])).toEqual([
      list.find((n) => n.network.name === "second"),
    ]);
    expect((await lab.lab(["net", "list", "-o", "name"])).stdout.split("\n").filter(Boolean).sort()).toEqual([
      "default",
      "second",
    ]);
    expect((await lab.lab(["net", "list", "-q"])).stdout).toBe(
      (await lab.lab(["net", "list", "-o", "name"])).stdout,
    );
    expect((await lab.lab(["net", "status", "-o", "yaml"])).stdout).toMatch(/^- network:\n {4}name: /);
    await lab.lab(["net", "down", "second"]);
    expect(await links(host)).not.toContain("labbr-second");
    expect((await iptablesSave(host)).join("\n")).not.toMatch(/lab:second/);
    expect((await iptablesSave(host)).join("\n")).toMatch(/lab:default/);
  });

  it("net down leaves no bridge, rule, chain, process or file behind", async () => {
    await inNs(host, ["ip", "link", "del", "cport0"]);
    await lab.lab(["net", "down"]);
    const remaining = (await links(host)).filter((l) => !["lo", "up0"].includes(l));
    expect(remaining).toEqual([]);
    expect(await iptablesSave(host)).toEqual([]);
    expect(await childProcesses(lab)).toEqual([]);
    const runFiles = (await readdir(lab.run)).filter((f) => !f.startsWith("labd."));
    expect(runFiles).toEqual([]);
    await lab.lab(["net", "down"]); // absent is fine
  });
});
