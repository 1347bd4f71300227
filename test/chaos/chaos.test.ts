// Faults at odd moments, against the real daemon, qemu (TCG), OVS and dnsmasq in a namespace:
// labd killed with VMs running, qemu killed, stale pid files, many clients at once, labd killed
// in a loop while clients create and destroy VMs. Nothing may be lost or handed out twice.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Vm as VmStatus } from "../../src/api/vms.js";
import { isAlive } from "../../src/host/proc.js";
import { checkInvariants, Ledger } from "../../src/state/ledger.js";
import { waitForReady } from "../helpers/guest.js";
import {
  childProcesses,
  createLabEnv,
  daemonPid,
  iptablesSave,
  type LabEnv,
  links,
  repoRoot,
} from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { waitUntil } from "../helpers/wait.js";

const skip = skipUnless([...VM_TOOLS]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const tally = { operations: 0, faults: 0, lost: 0 };

async function killDaemon(lab: LabEnv): Promise<void> {
  const pid = await daemonPid(lab);
  if (pid === undefined || !isAlive(pid)) return;
  process.kill(pid, "SIGKILL");
  tally.faults++;
  await waitUntil(() => !isAlive(pid), { what: `labd (pid ${pid}) to die`, timeout: 10_000, interval: 20 });
}

function readLedger(lab: LabEnv): Ledger {
  const text = readFileSync(path.join(lab.home, "lab.json"), "utf8");
  const ledger = Ledger.parse(JSON.parse(text));
  checkInvariants(ledger);
  return ledger;
}

interface LabEvent {
  type: string;
  vm?: string;
  time: string;
  signal?: string;
}

async function events(lab: LabEnv): Promise<LabEvent[]> {
  const text = await readFile(path.join(lab.home, "events.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function ports(lab: LabEnv): Promise<string[]> {
  const r = await inNs(lab.ns, ["ovs-vsctl", `--db=unix:${lab.run}/ovs/db.sock`, "list-ports", "labbr0"]);
  return String(r.stdout).split("\n").filter(Boolean).sort();
}

describe.skipIf(skip)("chaos: crashes, stale state and concurrency", () => {
  let lab: LabEnv;
  const vm = (name: string) => lab.labJson<VmStatus>(["vm", "show", name]);

  beforeAll(async () => {
    lab = await createLabEnv(await createNetns("labX"));
    await lab.lab(["net", "up"]);
    await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
  });

  afterAll(async () => {
    console.log(`chaos figures: ${JSON.stringify(tally)}`);
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it("kill -9 labd with 3 VMs running: all re-adopted, same IPs, leases and rules intact, nothing doubled", async () => {
    for (const n of ["vm1", "vm2", "vm3"]) {
      await lab.lab([
        "vm",
        "create",
        n,
        "--role",
        "kubernetes",
        "--restart",
        n === "vm1" ? "on-failure" : "no",
      ]);
      tally.operations++;
    }
    await Promise.all(["vm1", "vm2", "vm3"].map((n) => waitForReady(lab.run, n)));
    const before = await lab.labJson<VmStatus[]>(["vm", "list"]);
    const rules = await iptablesSave(lab.ns);
    const portsBefore = await ports(lab);
    const procs = (await childProcesses(lab)).sort();
    await killDaemon(lab);
    const after = await lab.labJson<VmStatus[]>(["vm", "list"]); // autostarts a new labd
    expect(after.map((v) => [v.name, v.state, v.ip, v.mac, v.pid])).toEqual(
      before.map((v) => [v.name, "running", v.ip, v.mac, v.pid]),
    );
    const adopted = (await events(lab)).filter((e) => e.type === "vm.adopted").map((e) => e.vm);
    expect(adopted.sort()).toEqual(["vm1", "vm2", "vm3"]);
    expect(await iptablesSave(lab.ns)).toEqual(rules);
    expect(await ports(lab)).toEqual(portsBefore);
    expect((await childProcesses(lab)).sort()).toEqual(procs);
    const leases = await readFile(path.join(lab.run, "dnsmasq/default.leases"), "utf8");
    for (const v of before) expect(leases).toContain(`${v.mac} ${v.ip}`);
  });

  it("kill -9 a VM's qemu: crashed within a second, and back with the same MAC and IP under on-failure", async () => {
    const v1 = await vm("vm1");
    const killedAt = Date.now();
    process.kill(v1.pid!, "SIGKILL");
    tally.faults++;
    const crashed1 = await waitUntil(
      async () =>
        (await events(lab)).find(
          (x) => x.type === "vm.crashed" && x.vm === "vm1" && Date.parse(x.time) >= killedAt - 50,
        ),
      { what: "vm1's crash event", timeout: 3000, interval: 50 },
    );
    expect(Date.parse(crashed1.time) - killedAt).toBeLessThan(1000);
    const back = await waitForReady(lab.run, "vm1", 2);
    expect([back.mac, back.ip]).toEqual([v1.mac, v1.ip]);
    const now = await vm("vm1");
    expect(now.state).toBe("running");
    expect(now.lastExit).toBeNull();
    // Now a child of this daemon, so its exit status is known: killed by SIGKILL.
    const t = Date.now();
    process.kill(now.pid!, "SIGKILL");
    tally.faults++;
    const crash = await waitUntil(
      async () =>
        (await events(lab)).find(
          (x) => x.type === "vm.crashed" && x.vm === "vm1" && Date.parse(x.time) >= t - 50,
        ),
      { what: "vm1's second crash event", timeout: 2000, interval: 50 },
    );
    expect(crash.signal).toBe("SIGKILL");
    await waitForReady(lab.run, "vm1", 3);
    // vm2 has restart policy "no": killed, it stays crashed, with the reason recorded.
    const v2 = await vm("vm2");
    process.kill(v2.pid!, "SIGKILL");
    tally.faults++;
    // Not our child: labd notices by polling (200 ms), then records the exit. Until it has, the
    // VM reads "stopped" (no process, no exit on record), so wait for the record, not the first
    // answer without a process (with the faster CLI start-up that answer came in between).
    const crashed = await waitUntil(
      async () => {
        const v = await vm("vm2");
        return v.state !== "running" && v.lastExit && v;
      },
      { what: "vm2's exit to be recorded", timeout: 10_000 },
    );
    // Adopted after the daemon restart, it is not our child: the exit status is unknown, the
    // crash and the console's last lines are recorded.
    expect(crashed.state).toBe("crashed");
    expect(crashed.lastExit?.crashed).toBe(true);
    expect(crashed.lastExit?.logTail).toMatch(/LAB-READY/);
  });

  it("a stale pid file naming an unrelated live process: not adopted, not killed", async () => {
    const sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    try {
      await lab.lab(["vm", "stop", "vm3"]);
      await writeFile(path.join(lab.run, "vms/vm2/qemu.pid"), `${sleeper.pid}\n`);
      await killDaemon(lab);
      const v2 = await vm("vm2");
      expect(v2.state).not.toBe("running");
      expect(v2.pid).toBeNull();
      expect(isAlive(sleeper.pid!)).toBe(true);
      expect((await events(lab)).filter((e) => e.type === "vm.adopted" && e.vm === "vm2").length).toBe(1);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("20 parallel creates: 20 distinct MACs and IPs, a valid ledger", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const results = await Promise.all(
      names.map((n) => lab.lab(["vm", "create", n, "--role", "kubernetes", "--no-start"], { reject: false })),
    );
    tally.operations += names.length;
    expect(results.map((r) => r.exitCode)).toEqual(names.map(() => 0));
    const ledger = readLedger(lab);
    const ids = names.map((n) => ledger.identities[n]!);
    expect(new Set(ids.map((i) => i.mac)).size).toBe(20);
    expect(new Set(ids.map((i) => i.ip)).size).toBe(20);
    await Promise.all(names.map((n) => lab.lab(["vm", "destroy", n, "--forget"])));
    tally.operations += names.length;
  });

  it("kill -9 labd in a loop while clients create and destroy: the ledger always parses, no identity twice", async () => {
    const seen = new Map<string, string>(); // mac -> name
    for (let round = 0; round < 8; round++) {
      const clients = Array.from({ length: 4 }, (_, i) => {
        const name = `c${i}`;
        const args =
          round % 2 === 0
            ? ["vm", "create", name, "--role", "kubernetes", "--no-start"]
            : ["vm", "destroy", name];
        tally.operations++;
        return lab.lab(args, { reject: false });
      });
      // Not a wait for a condition: the fault lands at a different moment of the clients' work each round.
      await new Promise((r) => setTimeout(r, 150 + ((round * 97) % 400)));
      await killDaemon(lab);
      await Promise.all(clients);
      const ledger = readLedger(lab); // throws on a corrupt or half-written ledger
      for (const [name, id] of Object.entries(ledger.identities)) {
        const holder = seen.get(id.mac);
        if (holder && holder !== name) tally.lost++;
        seen.set(id.mac, name);
      }
    }
    expect(tally.lost).toBe(0);
    // After the storm the daemon starts on the ledger it left and every VM is usable.
    const list = await lab.labJson<VmStatus[]>(["vm", "list"]);
    for (const v of list.filter((x) => x.name.startsWith("c"))) {
      await lab.lab(["vm", "destroy", v.name, "--forget"]);
      expect(existsSync(path.join(lab.home, "vms", v.name))).toBe(false);
    }
  });

  it("a corrupt ledger stops the daemon with a clear message and is never reset", async () => {
    await lab.lab(["daemon", "stop"]);
    const file = path.join(lab.home, "lab.json");
    const good = await readFile(file, "utf8");
    await writeFile(file, good.slice(0, Math.floor(good.length / 2)));
    const r = await lab.lab(["vm", "list"], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/corrupt/);
    expect(await readFile(file, "utf8")).toBe(good.slice(0, Math.floor(good.length / 2)));
    await writeFile(file, good);
  });

  it("net down + destroying everything leaves the namespace clean", async () => {
    for (const v of await lab.labJson<VmStatus[]>(["vm", "list"]))
      await lab.lab(["vm", "destroy", v.name, "--forget"]);
    await lab.lab(["net", "down"]);
    expect((await links(lab.ns)).filter((l) => l !== "lo")).toEqual([]);
    expect(await iptablesSave(lab.ns)).toEqual([]);
    expect(await childProcesses(lab)).toEqual([]);
    expect(await readdir(path.join(lab.home, "vms"))).toEqual([]);
    expect(readLedger(lab)).toMatchObject({ networks: {}, vms: {}, identities: {} });
  });
});
