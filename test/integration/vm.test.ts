// VMs with the real daemon, OVS, dnsmasq and qemu (TCG) inside a namespace this test creates,
// booting the offline lab-test image.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VmStatus } from "../../src/vm/status.js";
import { openConsole } from "../helpers/console.js";
import { waitForReady } from "../helpers/guest.js";
import { childProcesses, createLabEnv, iptablesSave, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");

async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

describe.skipIf(skip)("lab vm (real qemu, OVS and dnsmasq in a namespace)", () => {
  let lab: LabEnv;
  let baseDisk: string;
  let baseSum: string;

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    lab = await createLabEnv(await createNetns("labV"));
    await lab.lab(["net", "up"]);
    await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
    baseDisk = path.join(lab.home, "images/lab-test/disk.qcow2");
    baseSum = await sha256(baseDisk);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
  });

  const vm = (name: string) => lab.labJson<VmStatus>(["vm", "show", name]);

  it("refuses bad input and changes nothing", async () => {
    const cases: [string[], RegExp][] = [
      [["vm", "create", "n1", "--role", "nosuchrole"], /unknown role nosuchrole/],
      [["vm", "create", "n1", "--role", "etcd", "--image", "nosuchimage"], /nosuchimage/],
      [["vm", "create", "Bad_Name", "--role", "etcd"], /invalid VM name/],
      [["vm", "create", "$(reboot)", "--role", "etcd"], /invalid VM name/],
      [["vm", "create", "n1", "--role", "etcd", "--net", "nonet"], /network nonet is not up/],
      [["vm", "create", "n1", "--role", "etcd", "--ip", "10.1.1.1"], /not a usable host/],
      [["vm", "create", "n1", "--role", "etcd", "--memory", "lots"], /--memory/],
    ];
    for (const [args, message] of cases) {
      const r = await lab.lab(args, { reject: false });
      expect(r.exitCode, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    expect(await lab.labJson<unknown[]>(["vm", "list"])).toEqual([]);
    expect(existsSync(path.join(lab.home, "vms/n1"))).toBe(false);
    const ledger = JSON.parse(await readFile(path.join(lab.home, "lab.json"), "utf8"));
    expect(ledger.identities).toEqual({});
  });

  it("a create whose start fails leaves no ledger entry, files, tap, port forward, reservation or qemu", async () => {
    const before = {
      links: await links(lab.ns),
      rules: await iptablesSave(lab.ns),
      children: await childProcesses(lab),
    };
    const hosts = path.join(lab.run, "dnsmasq/default.hosts");
    // Before qemu starts (tap and drive made), and once it runs (it must be killed too).
    for (const fault of ["vm-start:qemu", "vm-start:ready"]) {
      await lab.lab(["daemon", "stop"]);
      const r = await lab.lab(["vm", "create", "f1", "--role", "etcd", "--publish", "18080:80"], {
        reject: false,
        env: { LAB_FAULTS: fault },
      });
      expect(r.exitCode, fault).not.toBe(0);
      expect(r.stderr).toMatch(`injected fault at ${fault}`);
      expect(r.stderr).not.toMatch(/not undone/);
      expect(await links(lab.ns)).toEqual(before.links);
      expect(await iptablesSave(lab.ns)).toEqual(before.rules);
      expect(await childProcesses(lab)).toEqual(before.children);
      expect(existsSync(path.join(lab.home, "vms/f1"))).toBe(false);
      expect(existsSync(path.join(lab.run, "vms/f1"))).toBe(false);
      const ledger = JSON.parse(await readFile(path.join(lab.home, "lab.json"), "utf8"));
      expect([ledger.vms, ledger.identities]).toEqual([{}, {}]);
      expect(await readFile(hosts, "utf8")).not.toMatch(/f1/);
    }
    await lab.lab(["daemon", "stop"]);
    expect(await lab.labJson<unknown[]>(["vm", "list"])).toEqual([]);
  });

  it("boots two guests that get their reserved IPs and hostnames from ISO and 9p config drives", async () => {
    await lab.lab(["vm", "create", "node1", "--role", "etcd"]);
    await lab.lab(["vm", "create", "node2", "--role", "kubernetes", "--config-drive", "9p"]);
    const [s1, s2] = [await vm("node1"), await vm("node2")];
    expect(s1.state).toBe("running");
    expect(s1.ip).toBe("172.16.11.10");
    expect(s2.ip).toBe("172.16.11.11");
    const [r1, r2] = await Promise.all([waitForReady(lab.run, "node1"), waitForReady(lab.run, "node2")]);
    expect(r1).toMatchObject({
      name: "node1",
      hostname: "node1",
      ip: s1.ip,
      mac: s1.mac,
      marker: false,
      configDrive: "iso9660",
    });
    expect(r2).toMatchObject({
      name: "node2",
      hostname: "node2",
      ip: s2.ip,
      mac: s2.mac,
      marker: false,
      configDrive: "9p",
    });
    const leases = await readFile(path.join(lab.run, "dnsmasq/default.leases"), "utf8");
    expect(leases).toContain(`${s1.mac} ${s1.ip}`);
    expect(leases).toContain(`${s2.mac} ${s2.ip}`);
    const dns = await inNs(lab.ns, ["busybox", "nslookup", "node2.lab", "172.16.11.1"]);
    expect(String(dns.stdout)).toContain(s2.ip);
    for (const ip of [s1.ip!, s2.ip!]) await inNs(lab.ns, ["ping", "-c", "1", "-W", "5", ip]);
  });

  it("lab vm console drives the guest's serial console (guest-to-guest ping over the bridge)", async () => {
    const target = (await vm("node2")).ip!;
    const con = await openConsole(lab, "node1");
    con.write(`ping -c 1 -W 5 ${target}\r`);
    await con.waitFor(/1 packets received/);
    expect(await con.detach()).toBe(0);
  });

  it("keeps the disk across stop/start; the base image is never written", async () => {
    await lab.lab(["vm", "stop", "node1"]);
    expect((await vm("node1")).state).toBe("stopped");
    await lab.lab(["vm", "start", "node1"]);
    const again = await waitForReady(lab.run, "node1", 2);
    expect(again).toMatchObject({ marker: true, boots: 2, ip: "172.16.11.10" });
    expect(await sha256(baseDisk)).toBe(baseSum);
  });

  it("create on an existing name with another restart policy or address is a conflict, as in lab up", async () => {
    const cases: [string[], RegExp][] = [
      [["--restart", "always"], /already exists with restart no \(asked: always\)/],
      [["--ip", "172.16.11.20"], /already exists with ip 172\.16\.11\.10 \(asked: 172\.16\.11\.20\)/],
    ];
    for (const [extra, message] of cases) {
      const r = await lab.lab(["vm", "create", "node1", "--role", "etcd", ...extra], { reject: false });
      expect(r.exitCode, extra.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    expect(await vm("node1")).toMatchObject({ restart: "no", ip: "172.16.11.10", state: "running" });
  });

  it("destroy + create again gives the same MAC and IP; --forget releases them", async () => {
    const before = await vm("node2");
    await lab.lab(["vm", "destroy", "node2"]);
    expect(existsSync(path.join(lab.home, "vms/node2"))).toBe(false);
    await lab.lab(["vm", "create", "node2", "--role", "kubernetes", "--no-start"]);
    const after = await vm("node2");
    expect([after.mac, after.ip, after.state]).toEqual([before.mac, before.ip, "stopped"]);
    const rm = await lab.lab(["image", "rm", "lab-test"], { reject: false });
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stderr).toMatch(/node1|node2/);
    await lab.lab(["vm", "destroy", "node2", "--forget"]);
    await lab.lab(["vm", "create", "node3", "--role", "kubernetes", "--no-start"]);
    expect((await vm("node3")).ip).toBe(before.ip);
  });

  it("destroying everything and net down leave the namespace clean", async () => {
    for (const name of ["node1", "node3"]) await lab.lab(["vm", "destroy", name, "--forget"]);
    await lab.lab(["net", "down"]);
    expect((await links(lab.ns)).filter((l) => l !== "lo")).toEqual([]);
    expect(await iptablesSave(lab.ns)).toEqual([]);
    expect(await childProcesses(lab)).toEqual([]);
    expect(await readdir(path.join(lab.home, "vms"))).toEqual([]);
    expect(
      (await readdir(lab.run)).filter(
        (f) => !f.startsWith("labd.") && f !== "accel.json" && f !== "vms" && f !== "consoles",
      ),
    ).toEqual([]);
    expect(await readdir(path.join(lab.run, "vms")).catch(() => [])).toEqual([]);
    expect(await readdir(path.join(lab.run, "consoles")).catch(() => [])).toEqual([]);
  });
});
