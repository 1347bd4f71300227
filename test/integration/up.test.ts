// `lab up` / `lab down` / `lab status` with the real daemon, OVS, dnsmasq and qemu (TCG) inside a
// namespace this test creates, from small lab files that boot the offline lab-test image.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VmStatus } from "../../src/vm/status.js";
import {
  FLATCAR_BUNDLE,
  FLATCAR_IMAGE,
  importMirrorPrograms,
  requireFlatcarBundle,
} from "../helpers/flatcar.js";
import { readyLines } from "../helpers/guest.js";
import {
  childProcesses,
  createLabEnv,
  iptablesSave,
  type LabEnv,
  labBin,
  links,
  repoRoot,
} from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";

const skip = skipUnless([...VM_TOOLS]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");

const labFile = (o: { subnet?: string; cluster?: string; machines?: string; extra?: string } = {}) => `
networks:
  - name: default
    subnet: ${o.subnet ?? "172.16.11.0/24"}
    cluster:
${o.cluster ?? "      podNetwork: 10.0.0.0/16\n      serviceRange: 10.10.0.0/22"}
images:
  - name: lab-test
    import: ${bundle}
machines:
${o.machines ?? "  - name: etcd\n    role: etcd\n    ip: 172.16.11.10\n  - group: node\n    role: kubernetes\n    count: 2"}
${o.extra ?? ""}`;

const PLANNED = { etcd: "172.16.11.10", "node-1": "172.16.11.11", "node-2": "172.16.11.12" };

describe.skipIf(skip)("lab up / down / status (real qemu, OVS and dnsmasq in a namespace)", () => {
  let lab: LabEnv;
  let dir: string;
  let file: string;

  const write = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await writeFile(f, text);
    return f;
  };
  const vms = () => lab.labJson<VmStatus[]>(["vm", "list"]);
  const ledger = () => readFile(path.join(lab.home, "lab.json"), "utf8");

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    lab = await createLabEnv(await createNetns("labU"));
    dir = await mkdtemp(path.join(tmpdir(), "lab-up-"));
    file = await write("lab.yaml", labFile());
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses a bad lab file before creating anything, naming the field", async () => {
    // An uplink the host already routes: a veth pair stands in for it (no dummy module needed).
    await inNs(lab.ns, ["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"]);
    await inNs(lab.ns, ["ip", "addr", "add", "192.168.50.2/24", "dev", "uplink0"]);
    await inNs(lab.ns, ["ip", "link", "set", "uplink0", "up"]);
    const cases: [string, RegExp][] = [
      [
        labFile({ subnet: "10.0.7.0/24" }),
        /networks\[0\]\.cluster\.podNetwork: 10\.0\.0\.0\/16 overlaps networks\[0\]\.subnet 10\.0\.7\.0\/24/,
      ],
      [
        labFile({ subnet: "192.168.50.0/24" }),
        /networks\[0\]\.subnet: 192\.168\.50\.0\/24 overlaps the host route 192\.168\.50\.0\/24 via uplink0/,
      ],
      ["networks: [\n  - name: x\n", /not valid YAML: .*line \d+/],
      [labFile({ extra: "colour: blue" }), /bad\.yaml: colour: unknown key/],
      [
        labFile({ machines: "  - name: etcd\n    role: etcd\n    count: many" }),
        /machines\[0\]\.count: expected a positive integer/,
      ],
      [
        labFile({ machines: "  - name: etcd\n    role: nosuchrole" }),
        /machines\[0\]\.role: unknown role nosuchrole/,
      ],
      [
        labFile({ extra: `fleet:\n  dir: ${dir}\n  units: ['kube-*.service']` }),
        /fleet\.units\[0\]: kube-\*\.service matches no unit file/,
      ],
    ];
    for (const [text, message] of cases) {
      const bad = await write("bad.yaml", text);
      for (const args of [
        ["up", "-f", bad],
        ["up", "-f", bad, "--plan"],
      ]) {
        const r = await lab.lab(args, { reject: false });
        expect(r.exitCode, `${text}\n${r.stdout}`).toBe(2);
        expect(r.stderr).toMatch(message);
      }
    }
    expect(await lab.labJson<unknown[]>(["net", "list"])).toEqual([]);
    expect(await lab.labJson<unknown[]>(["image", "list"])).toEqual([]);
    expect(await vms()).toEqual([]);
    await inNs(lab.ns, ["ip", "link", "del", "uplink0"]);
    expect(await links(lab.ns)).toEqual(["lo"]);
  });

  it("--plan changes nothing and lists what it would create", async () => {
    const r = await lab.lab(["up", "-f", file, "--plan"]);
    expect(r.stdout).toMatch(/vm +node-2 +create +role kubernetes, 172\.16\.11\.12/);
    expect(r.stdout).toMatch(/plan: 5 to create/);
    expect(await lab.labJson<unknown[]>(["net", "list"])).toEqual([]);
  });

  it("brings the lab up: every VM running with its LAB-READY line and planned IP", async () => {
    const r = await lab.lab(["up", "-f", file]);
    expect(r.stdout).toMatch(/lab up: 5 change\(s\), 0 unchanged/);
    expect(r.stderr).toMatch(/vm etcd: ready, 172\.16\.11\.10/);
    const list = await vms();
    expect(Object.fromEntries(list.map((v) => [v.name, [v.state, v.ip]]))).toEqual({
      etcd: ["running", PLANNED.etcd],
      "node-1": ["running", PLANNED["node-1"]],
      "node-2": ["running", PLANNED["node-2"]],
    });
    for (const [name, ip] of Object.entries(PLANNED)) {
      const ready = await readyLines(lab.run, name);
      expect(ready, name).toHaveLength(1);
      expect(ready[0]).toMatchObject({ name, hostname: name, ip });
    }
  });

  it("a second lab up does nothing and changes nothing", async () => {
    const [before, procs] = [await ledger(), await childProcesses(lab)];
    const r = await lab.lab(["up", "-f", file]);
    expect(r.stdout).toMatch(/^nothing to do/);
    expect(await ledger()).toBe(before);
    expect(await childProcesses(lab)).toEqual(procs);
    const plan = JSON.parse((await lab.lab(["up", "-f", file, "--plan", "--json"])).stdout);
    expect(plan.steps.every((s: { action: string }) => s.action === "unchanged")).toBe(true);
  });

  it("after a VM stops, --plan shows exactly one start, and lab up starts it again", async () => {
    await lab.lab(["vm", "stop", "node-2"]);
    const plan = JSON.parse((await lab.lab(["up", "-f", file, "--plan", "--json"])).stdout);
    const changes = plan.steps.filter((s: { action: string }) => s.action !== "unchanged");
    expect(changes.map((s: { id: string; action: string }) => [s.id, s.action])).toEqual([
      ["vm/node-2", "start"],
    ]);
    const text = (await lab.lab(["up", "-f", file, "--plan"])).stdout;
    expect(text.match(/ start /g)).toHaveLength(1);
    await lab.lab(["up", "-f", file]);
    expect(await readyLines(lab.run, "node-2")).toHaveLength(2);
  });

  it("reports a VM with another spec as a conflict and changes nothing", async () => {
    const other = await write("other.yaml", labFile().replace("count: 2", "count: 2\n    memory: 300"));
    const before = await ledger();
    const r = await lab.lab(["up", "-f", other], { reject: false });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/vm node-1: exists with memory \(MiB\) 256 \(lab file: 300\)/);
    expect(r.stderr).toMatch(/hint: 'lab vm destroy node-1'/);
    expect(await ledger()).toBe(before);
  });

  it("lab status shows networks and VMs in one table, with a note on fleet", async () => {
    const r = await lab.lab(["status", "-f", file]);
    expect(r.stdout).toMatch(
      /network +default +up +172\.16\.11\.0\/24 +bridge labbr0 present, dnsmasq pid \d+/,
    );
    expect(r.stdout).toMatch(/vm +node-1 +running +172\.16\.11\.11 +role kubernetes.*LAB-READY/);
    expect(r.stdout).toMatch(/fleet: image lab-test has no fleet/);
  });

  it("lab down --forget leaves the namespace clean", async () => {
    const r = await lab.lab(["down", "-f", file, "--forget"]);
    expect(r.stdout).toMatch(/vm etcd: destroyed; MAC and IP released/);
    expect(r.stdout).toMatch(/network default: removed/);
    expect(await links(lab.ns)).toEqual(["lo"]);
    expect(await iptablesSave(lab.ns)).toEqual([]);
    expect(await childProcesses(lab)).toEqual([]);
    expect(await readdir(path.join(lab.home, "vms"))).toEqual([]);
    expect(JSON.parse(await ledger()).identities).toEqual({});
    expect((await lab.lab(["down", "-f", file, "--forget"])).stdout).toMatch(/vm etcd: did not exist/);
  });

  it("Ctrl-C starts no new step, exits 130 with a summary; lab down cleans up after it", async () => {
    const child = execa("ip", ["netns", "exec", lab.ns, process.execPath, labBin, "up", "-f", file], {
      env: lab.env,
      extendEnv: false,
      reject: false,
    });
    let stderr = "";
    let sent = false;
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /vm etcd: running/.test(stderr)) sent = child.kill("SIGINT");
    });
    const r = await child;
    expect(r.exitCode, `${stderr}\n${r.stdout}`).toBe(130);
    expect(String(r.stdout)).toMatch(/^interrupted after/);
    expect(String(r.stdout)).toMatch(/not started: +vm node-1, vm node-2|not started: +vm node-2/);
    expect(stderr).toMatch(/lab up was interrupted/);
    const names = (await vms()).map((v) => v.name);
    expect(names).toContain("etcd");
    expect(names).not.toContain("node-2");
    await lab.lab(["down", "-f", file, "--forget"]);
    expect(await links(lab.ns)).toEqual(["lo"]);
    expect(await childProcesses(lab)).toEqual([]);
  });
});

// The fleet part of `lab up` on the Flatcar-shaped image (nothing of etcd or fleet in it, no
// lab units): etcd and fleetd from the mirror, flannel's key, the machine gate, units placed each
// way fleet places them, started as soon as the cluster forms, and a unit that fails; then what a
// user does next: upstream fleetctl, `lab vm ssh` and `lab fleet status` with the host keys the
// role cloud-config reported (no --accept-new), and an etcd without its v2 API named at once.
// A few minutes under TCG; LAB_TEST_FLEET_UP=0 skips it locally.
const fleetWanted = process.env.LAB_TEST_FLEET_UP !== "0" || process.env.CI === "true";
const LOOP = "ExecStart=/bin/sh -c 'while true; do sleep 10; done'";
const UP_UNITS: Record<string, string> = {
  "acc-one.service": `[Service]\n${LOOP}\n\n[X-Fleet]\nMachineMetadata=role=etcd\n`,
  "acc-two.service": `[Service]\n${LOOP}\n\n[X-Fleet]\nMachineOf=acc-one.service\n`,
  "acc-all.service": `[Service]\n${LOOP}\n\n[X-Fleet]\nGlobal=true\nMachineMetadata=role=kubernetes\n`,
  "acc-broken.service":
    "[Service]\nExecStart=/bin/sh -c 'echo acc-broken-says-boom; exit 3'\n\n[X-Fleet]\nMachineMetadata=role=etcd\n",
};
const fleetLabFile = (units: string[]) =>
  `networks:\n  - name: default\n    subnet: 172.16.11.0/24\n    cluster:\n      podNetwork: 10.0.0.0/16\nimages:\n  - name: ${FLATCAR_IMAGE}\n    import: ${FLATCAR_BUNDLE}\nmachines:\n  - name: etcd\n    role: etcd\n    ip: 172.16.11.10\n    memory: 512\n  - group: node\n    role: kubernetes\n    count: 2\n    memory: 512\nfleet:\n  units: [${units.join(", ")}]\n`;

describe.skipIf(skip || !fleetWanted)("lab up with fleet units (Flatcar-shaped image)", () => {
  let lab: LabEnv;
  let dir: string;
  let file: string;
  let broken: string;
  const fleetctl = async (args: string[]) =>
    String(
      (await inNs(lab.ns, [sharedBin("fleetctl"), "--endpoint", "http://172.16.11.10:49153", ...args]))
        .stdout,
    );

  beforeAll(async () => {
    requireFlatcarBundle();
    lab = await createLabEnv(await createNetns("labF"));
    dir = await mkdtemp(path.join(tmpdir(), "lab-upf-"));
    await mkdir(path.join(dir, "units"));
    for (const [name, text] of Object.entries(UP_UNITS)) await writeFile(path.join(dir, "units", name), text);
    file = path.join(dir, "lab.yaml");
    await writeFile(file, fleetLabFile(["acc-one.service", "acc-two.service", "acc-all.service"]));
    broken = path.join(dir, "broken.yaml");
    await writeFile(
      broken,
      fleetLabFile(["acc-one.service", "acc-two.service", "acc-all.service", "acc-broken.service"]),
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses at planning while the mirror lacks etcd and fleetd, naming the command", async () => {
    const r = await lab.lab(["up", "-f", file], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(
      /role etcd runs etcd from the lab mirror, which does not have it: run 'lab mirror add --for fleet'/,
    );
    expect(r.stderr).toMatch(/role kubernetes runs fleetd from the lab mirror/);
    expect((await lab.labJson<unknown[]>(["vm", "list", "--json"])).length).toBe(0);
  });

  it("seeds flannel, waits for the machines, returns once every unit runs where fleet put it; again: nothing to do", async () => {
    await importMirrorPrograms(lab);
    const started = Date.now();
    const r = await lab.lab(["up", "-f", file]);
    console.log(
      `lab up (Flatcar-shaped, etcd + 2 kubernetes): ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    expect(r.stderr).toMatch(/flannel default: set in etcd on 172\.16\.11\.10/);
    expect(r.stderr).toMatch(/fleet machines: 3 machine\(s\) registered/);
    expect(r.stderr).toMatch(/ssh host keys in known_hosts/);
    expect(r.stderr).toMatch(/unit acc-all\.service: active on 172\.16\.11\.11, 172\.16\.11\.12/);
    // Right after lab up returned, the upstream fleetctl sees every unit active where it belongs.
    const rows = (await fleetctl(["list-units", "--no-legend", "--full", "--fields", "unit,machine,active"]))
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/))
      .map(([unit, machine, active]) => `${unit} ${machine!.split("/")[1]} ${active}`)
      .sort();
    expect(rows).toEqual([
      "acc-all.service 172.16.11.11 active",
      "acc-all.service 172.16.11.12 active",
      "acc-one.service 172.16.11.10 active",
      "acc-two.service 172.16.11.10 active",
    ]);
    expect((await lab.lab(["up", "-f", file])).stdout).toMatch(/^nothing to do/);
    const status = await lab.labJson<{ fleet: { machines: unknown[]; units: { name: string }[] } }>([
      "status",
      "-f",
      file,
    ]);
    expect(status.fleet.machines).toHaveLength(3);
    expect(status.fleet.units.map((u) => u.name).sort()).toEqual([
      "acc-all.service",
      "acc-one.service",
      "acc-two.service",
    ]);
  }, 600_000);

  it("upstream fleetctl lists the three machines with their roles", async () => {
    const rows = (await fleetctl(["list-machines", "--full", "--no-legend", "--fields", "ip,metadata"]))
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .sort();
    expect(rows).toEqual([
      ["172.16.11.10", "role=etcd"],
      ["172.16.11.11", "role=kubernetes"],
      ["172.16.11.12", "role=kubernetes"],
    ]);
  });

  it("lab vm ssh works right after lab up without --accept-new; no unit failed on any machine", async () => {
    for (const vm of ["etcd", "node-1", "node-2"]) {
      expect((await lab.lab(["vm", "ssh", vm, "--", "hostname"])).stdout.trim()).toBe(vm);
      const failed = await lab.lab([
        "vm",
        "ssh",
        vm,
        "--",
        "systemctl",
        "--failed",
        "--no-legend",
        "--plain",
      ]);
      expect(failed.stdout.trim(), `${vm}: systemctl --failed`).toBe("");
      // Flatcar has neither: lab's own units run the mirror's programs.
      const which = await lab.lab([
        "vm",
        "ssh",
        vm,
        "--",
        "ls /usr/bin/etcd /usr/bin/fleetd 2>/dev/null; true",
      ]);
      expect(which.stdout.trim()).toBe("");
    }
    const etcdActive = await lab.lab([
      "vm",
      "ssh",
      "etcd",
      "--",
      "systemctl",
      "is-active",
      "lab-etcd",
      "lab-fleet",
    ]);
    expect(etcdActive.stdout.trim().split("\n")).toEqual(["active", "active"]);
  }, 180_000);

  it("the image is shaped like Flatcar where lab depends on it (images/lab-flatcar/README.md)", async () => {
    const out = await lab.lab([
      "vm",
      "ssh",
      "node-1",
      "--",
      [
        "findmnt -no OPTIONS /usr | tr , '\\n' | grep -x ro",
        "sudo touch /etc/lab-w /opt/lab-w && echo etc-opt-writable",
        "id -un; sudo -n id -un",
        "command -v update-ssh-keys coreos-cloudinit",
        "systemctl is-active containerd sshd-keygen",
        "test -S /run/containerd/containerd.sock && echo cri-socket",
        "grep -c 'SystemdCgroup = true' /etc/containerd/config.toml",
        "ls /opt/cni/bin 2>/dev/null | wc -l",
        "systemctl list-unit-files --no-legend 'etcd2*' 'fleet*' 'lab-ssh*' | wc -l",
        "systemctl --version | head -1 | cut -d' ' -f2",
      ].join("; "),
    ]);
    expect(out.stdout.trim().split("\n")).toEqual([
      "ro",
      "etc-opt-writable",
      "core",
      "root",
      "/usr/bin/update-ssh-keys",
      "/usr/bin/coreos-cloudinit",
      "active",
      "active",
      "cri-socket",
      "1",
      "0",
      "0",
      "257",
    ]);
  }, 120_000);

  it("lab fleet status shows the unit through ssh to its machine", async () => {
    const r = await lab.lab(["fleet", "status", "acc-one.service"]);
    expect(r.stdout).toMatch(/Active: active \(running\)/);
  }, 120_000);

  it("an etcd without the v2 API is named at once by lab fleet, not waited for", async () => {
    const dropIn = "/run/systemd/system/lab-etcd.service.d";
    await lab.lab([
      "vm",
      "ssh",
      "etcd",
      "--",
      `sudo mkdir -p ${dropIn} && printf '[Service]\\nExecStart=\\nExecStart=/opt/bin/etcd\\n' | sudo tee ${dropIn}/no-v2.conf >/dev/null && sudo systemctl daemon-reload && sudo systemctl restart lab-etcd`,
    ]);
    const started = Date.now();
    const r = await lab.lab(["fleet", "list-machines"], { reject: false });
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toMatch(/does not serve the v2 API that fleet needs/);
    expect(r.stderr).toMatch(/hint: run etcd 3\.5 with --enable-v2=true/);
    expect(Date.now() - started).toBeLessThan(30_000);
    await lab.lab([
      "vm",
      "ssh",
      "etcd",
      "--",
      `sudo rm -r ${dropIn} && sudo systemctl daemon-reload && sudo systemctl restart lab-etcd`,
    ]);
  }, 180_000);

  it("a unit that fails fails lab up, with the tail of its journal", async () => {
    const r = await lab.lab(["up", "-f", broken], { reject: false });
    expect(r.exitCode, r.stderr).toBe(8);
    expect(r.stderr).toMatch(
      /unit acc-broken\.service \(launch\) failed: acc-broken\.service failed on machine [0-9a-f]{8} \(loaded\/failed\/failed\)/,
    );
    expect(r.stderr).toMatch(/last journal lines on etcd:\n( {2}\| .*\n)* {2}\| .*acc-broken-says-boom/);
    expect(r.stderr).toMatch(/hint: 'lab fleet journal acc-broken\.service/);
    const down = await lab.lab(["down", "-f", broken, "--forget"]);
    expect(down.stdout).toMatch(/unit acc-broken\.service: destroyed in fleet/);
    expect(await links(lab.ns)).toEqual(["lo"]);
  }, 420_000);
});
