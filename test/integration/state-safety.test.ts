// What lab must never do to state it cannot prove it owns: delete VM disks when the ledger is
// lost, or interfaces it did not create. Real labd, OVS, dnsmasq and qemu (lab-test image) in a namespace this test creates.
import { existsSync } from "node:fs";
import { readFile, rename } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetStatus } from "../../src/net/network.js";
import type { RecoverResult } from "../../src/vm/recover.js";
import type { VmStatus } from "../../src/vm/status.js";
import { waitForReady } from "../helpers/guest.js";
import { createLabEnv, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");

describe.skipIf(skip)("state safety (real labd, qemu, OVS, dnsmasq in a namespace)", () => {
  let lab: LabEnv;
  const vm = (name: string) => lab.labJson<VmStatus>(["vm", "show", name]);

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    lab = await createLabEnv(await createNetns("labS"));
    await lab.lab(["net", "up"]);
    await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it("leaves interfaces it did not create alone and refuses names that collide with them", async () => {
    for (const name of ["lab-victim", "lab-foreign"])
      await inNs(lab.ns, [
        "ip",
        "link",
        "add",
        name,
        "type",
        "veth",
        "peer",
        "name",
        `${name.slice(4)}-peer`,
      ]);
    const r = await lab.lab(["vm", "create", "victim", "--role", "etcd"], { reject: false });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/lab-victim exists on this host and lab did not create it/);
    expect(r.stderr).toMatch(/hint:/);
    expect(await lab.labJson<unknown[]>(["vm", "list"])).toEqual([]);
    // A labd start (reconcile) leaves them too.
    await lab.lab(["daemon", "stop"]);
    await lab.lab(["vm", "list"]);
    expect(await links(lab.ns)).toEqual(expect.arrayContaining(["lab-victim", "lab-foreign"]));
    const t1 = await lab.lab(["net", "up", "t1", "--bridge", "lab-x"], { reject: false });
    expect(t1.exitCode).toBe(4);
    expect(t1.stderr).toMatch(/has the form of a VM's tap/);
    for (const name of ["lab-victim", "lab-foreign"]) await inNs(lab.ns, ["ip", "link", "del", name]);
  });

  it("a lost ledger deletes no disk; lab recover restores the VM and its network, and it starts again", async () => {
    await lab.lab(["vm", "create", "keep", "--role", "etcd"]);
    const before = await vm("keep");
    await waitForReady(lab.run, "keep");
    const disk = path.join(lab.home, "vms/keep/disk.qcow2");
    const record = JSON.parse(await readFile(path.join(lab.home, "vms/keep/vm.json"), "utf8"));
    expect(record).toMatchObject({ spec: { name: "keep", role: "etcd", image: "lab-test" } });
    expect(record.identity).toMatchObject({ mac: before.mac, ip: before.ip });

    await lab.lab(["daemon", "stop"]);
    await rename(path.join(lab.home, "lab.json"), path.join(lab.home, "lab.json.aside"));
    // Any command starts a labd on an empty ledger.
    expect(await lab.labJson<unknown[]>(["vm", "list"])).toEqual([]);
    expect(existsSync(disk)).toBe(true);
    const log = await readFile(path.join(lab.run, "labd.log"), "utf8").catch(() => "");
    expect(log).toMatch(/lab recover/);

    const plan = await lab.labJson<RecoverResult>(["recover", "--plan"]);
    expect(plan.applied).toBe(false);
    expect(plan.vms).toEqual([expect.objectContaining({ name: "keep", action: "restore" })]);
    expect(plan.networks).toEqual([expect.objectContaining({ name: "default", action: "restore" })]);
    expect(await lab.labJson<unknown[]>(["vm", "list"])).toEqual([]);

    const done = await lab.labJson<RecoverResult>(["recover"]);
    expect(done.applied).toBe(true);
    const back = await vm("keep");
    expect([back.mac, back.ip, back.state]).toEqual([before.mac, before.ip, "running"]);
    await lab.lab(["vm", "stop", "keep"]);
    await lab.lab(["vm", "start", "keep"]);
    expect(await waitForReady(lab.run, "keep", 2)).toMatchObject({ marker: true, ip: before.ip });
  });

  it("net status observes the host and net up repairs what went missing; vm start works after", async () => {
    await lab.lab(["vm", "stop", "keep"]);
    const ovs = ["ovs-vsctl", `--db=unix:${lab.run}/ovs/db.sock`];
    await inNs(lab.ns, [...ovs, "del-br", "labbr0"]);
    await inNs(lab.ns, ["iptables", "-F", "LAB-INPUT"]);
    const [status] = await lab.labJson<NetStatus[]>(["net", "status", "default"]);
    expect([status!.bridge, status!.rules]).toEqual([false, false]);
    const up = await lab.labJson<{ changed: string[] }>(["net", "up"]);
    expect(up.changed).toEqual(expect.arrayContaining(["bridge", "iptables"]));
    const [again] = await lab.labJson<NetStatus[]>(["net", "status", "default"]);
    expect([again!.bridge, again!.rules]).toEqual([true, true]);
    await lab.lab(["vm", "start", "keep"]);
    expect(await waitForReady(lab.run, "keep", 3)).toMatchObject({ ip: (await vm("keep")).ip });
    await lab.lab(["vm", "destroy", "keep", "--forget"]);
  });

  it("an address freed with destroy --forget reaches the next VM: dnsmasq's lease is released too", async () => {
    await lab.lab(["vm", "create", "old", "--role", "etcd"]);
    const old = await vm("old");
    await waitForReady(lab.run, "old");
    const leases = path.join(lab.run, "dnsmasq/default.leases");
    expect(await readFile(leases, "utf8")).toContain(`${old.mac} ${old.ip}`);
    await lab.lab(["vm", "destroy", "old", "--forget"]);
    expect(await readFile(leases, "utf8")).not.toContain(old.mac!);
    await lab.lab(["vm", "create", "new", "--role", "etcd"]);
    const fresh = await vm("new");
    expect(fresh.ip).toBe(old.ip);
    expect(await waitForReady(lab.run, "new")).toMatchObject({ mac: fresh.mac, ip: old.ip });
    await lab.lab(["vm", "destroy", "new", "--forget"]);
  });
});
