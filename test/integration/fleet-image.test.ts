// Builds the lab-fleet guest image (scripts/build-fleet-image.mjs, cached) and boots it under plain
// qemu (TCG) with the etcd role's cloud-config on a config-2 drive, as an ISO 9660 disk and as a
// 9p share. The upstream fleetctl then talks to the guest's fleet API through a qemu user-network
// port forward (restricted to the guest: nothing leaves the host): the machine must register with
// role=etcd metadata, and a unit submitted through fleet must run. SSH checks the pieces
// coreos-cloudinit relies on (update-ssh-keys, /etc/environment, hostname) and that the host key
// printed on the serial console is the one sshd presents. The same runs once more on the image
// variant with CoreOS's coreos-cloudinit v1.14.0 (LAB_CLOUDINIT_BUILD=coreos).
import { type ChildProcess, execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeConfigDrive } from "../../src/cloudconfig/config-drive.js";
import { defaultTemplatesDir, renderCloudConfig } from "../../src/cloudconfig/render.js";
import { createHost } from "../../src/host/host.js";
import { spawnQemu } from "../helpers/qemu.js";
import { inCI, skipUnless } from "../helpers/require.js";

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fleetBin = process.env.LAB_FLEET_BIN || path.resolve(repoRoot, "..", "shared", "bin");
const fleetctl = path.join(fleetBin, "fleetctl");
// The guest's address on qemu's user network (its built-in DHCP server hands out .15 first).
const GUEST_IP = "10.0.2.15";
const FLEET_PORT = 49153;
const BUILD_TIMEOUT_MS = 15 * 60_000;
const REGISTER_TIMEOUT_MS = 240_000;

function prerequisitesMissing(): boolean {
  if (skipUnless(["qemu-system-x86_64", "qemu-img", "genisoimage", "ssh", "ssh-keygen"])) return true;
  if (existsSync(fleetctl)) return false;
  if (inCI) throw new Error(`integration prerequisites missing in CI: ${fleetctl} (set LAB_FLEET_BIN)`);
  console.warn(`skipping: ${fleetctl} not found (set LAB_FLEET_BIN)`);
  return true;
}
const skip = prerequisitesMissing();

interface Manifest {
  name: string;
  version: string;
  format: string;
  disk: string;
  boot: { kernel: string; initrd: string; cmdline: string };
  fleet: boolean;
  guest: string;
  features: { configDrive: string[] };
  cloudinit: string;
  kernelVersion: string;
}

interface Guest {
  tag: string;
  proc: ChildProcess;
  log: string;
  fleetPort: number;
  sshPort: number;
  spawnedAt: number;
  exited: Promise<number | null>;
}

let work = "";
let sshKey = "";
let sshPub = "";
const guests: Guest[] = [];
const timings: string[] = [];

const running = (g: Guest) => g.proc.exitCode === null && g.proc.signalCode === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function buildImage(out: string, cloudinit: "flatcar" | "coreos"): Promise<Manifest> {
  const started = Date.now();
  const zx = path.join(repoRoot, "node_modules/.bin/zx");
  const { stdout } = await run(zx, [path.join(repoRoot, "scripts/build-fleet-image.mjs"), "--out", out], {
    timeout: BUILD_TIMEOUT_MS,
    env: { ...process.env, LAB_FLEET_BIN: fleetBin, LAB_CLOUDINIT_BUILD: cloudinit },
    maxBuffer: 16 * 2 ** 20,
  });
  const last = stdout.trim().split("\n").at(-1) ?? "";
  timings.push(`build ${cloudinit}: ${((Date.now() - started) / 1000).toFixed(0)} s (${last.trim()})`);
  return JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8")) as Manifest;
}

async function overlay(bundle: string, manifest: Manifest, name: string): Promise<string> {
  const file = path.join(work, `${name}.qcow2`);
  const base = path.join(bundle, manifest.disk);
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", manifest.format, "-b", base, file]);
  return file;
}

/** The etcd role's cloud-config for a VM named `name` at the guest's user-network address. */
async function configDrive(tag: string, name: string, iso: boolean): Promise<{ dir: string; iso?: string }> {
  const userData = await renderCloudConfig(defaultTemplatesDir(), {
    name,
    role: "etcd",
    ip: GUEST_IP,
    prefix: 24,
    gateway: "10.0.2.2",
    dns: "10.0.2.3",
    domain: "lab",
    etcdEndpoint: `http://${GUEST_IP}:2379`,
    mirrorUrl: "http://10.0.2.2:8080",
    sshKeys: [sshPub],
  });
  const dir = path.join(work, `${tag}-config-2`);
  const isoPath = iso ? path.join(work, `${tag}-config-2.iso`) : undefined;
  await writeConfigDrive(createHost(), dir, isoPath, {
    uuid: randomUUID(),
    name,
    hostname: name,
    userData,
    sshKeys: [sshPub],
  });
  return { dir, iso: isoPath };
}

async function boot(tag: string, bundle: string, manifest: Manifest, disk: string, extra: string[]) {
  const log = path.join(work, `${tag}.log`);
  const fleetPort = await freePort();
  const sshPort = await freePort();
  const mac = `52:54:00:4c:46:${(0x10 + guests.length).toString(16)}`;
  const fwd = `hostfwd=tcp:127.0.0.1:${fleetPort}-:${FLEET_PORT},hostfwd=tcp:127.0.0.1:${sshPort}-:22`;
  const args = [
    // One vCPU like lab's VMs: two TCG vCPUs on a busy 2-core host can starve each other (RCU stalls).
    ["-accel", "tcg", "-machine", "pc", "-m", "1024", "-smp", "1"],
    ["-display", "none", "-no-user-config", "-nodefaults", "-serial", `file:${log}`],
    ["-kernel", path.join(bundle, manifest.boot.kernel), "-initrd", path.join(bundle, manifest.boot.initrd)],
    ["-append", manifest.boot.cmdline],
    ["-drive", `file=${disk},if=virtio,format=qcow2`],
    ["-netdev", `user,id=n0,restrict=on,${fwd}`, "-device", `virtio-net-pci,netdev=n0,mac=${mac}`],
    extra,
  ].flat();
  const { proc, exited } = spawnQemu(tag, args);
  const guest: Guest = { tag, proc, log, fleetPort, sshPort, spawnedAt: Date.now(), exited };
  guests.push(guest);
  return guest;
}

async function stop(g: Guest): Promise<void> {
  if (running(g) && g.proc.pid) process.kill(g.proc.pid, "SIGKILL");
  await g.exited;
}

async function consoleTail(g: Guest, lines = 60): Promise<string> {
  const text = existsSync(g.log) ? await readFile(g.log, "utf8") : "(no serial log)";
  return text.split("\n").slice(-lines).join("\n");
}

async function fleet(g: Guest, args: string[], timeoutMs = 15_000): Promise<string> {
  const { stdout } = await run(fleetctl, ["--endpoint", `http://127.0.0.1:${g.fleetPort}`, ...args], {
    timeout: timeoutMs,
  });
  return stdout;
}

interface Machine {
  id: string;
  ip: string;
  metadata: string;
}

/** Polls the guest's fleet API until a machine is listed; records power-on → registered. */
async function waitRegistered(g: Guest): Promise<Machine[]> {
  const deadline = g.spawnedAt + REGISTER_TIMEOUT_MS;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!running(g)) throw new Error(`qemu ${g.tag} exited; console:\n${await consoleTail(g)}`);
    try {
      const out = await fleet(g, ["list-machines", "--full", "--no-legend"], 10_000);
      const machines = out
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => {
          const [id = "", ip = "", metadata = ""] = l.split("\t").map((f) => f.trim());
          return { id, ip, metadata };
        });
      if (machines.length > 0) {
        timings.push(
          `${g.tag}: fleet machine registered ${((Date.now() - g.spawnedAt) / 1000).toFixed(1)} s after power-on`,
        );
        return machines;
      }
    } catch (e) {
      lastError = String((e as { stderr?: string }).stderr || e);
    }
    await sleep(1000);
  }
  throw new Error(
    `${g.tag}: no fleet machine within ${REGISTER_TIMEOUT_MS} ms (${lastError}); console:\n${await consoleTail(g)}`,
  );
}

/** The guest's host keys as printed on the serial console ("LAB-SSH-HOSTKEY <type> <base64>"). */
async function hostKeys(g: Guest): Promise<string[]> {
  const text = await readFile(g.log, "utf8");
  return [...text.matchAll(/^LAB-SSH-HOSTKEY (\S+) ([A-Za-z0-9+/=]+)\r?$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** Runs a command as core over ssh, trusting only the host keys the console printed. */
async function ssh(g: Guest, command: string): Promise<string> {
  const knownHosts = path.join(work, `${g.tag}.known_hosts`);
  const keys = await hostKeys(g);
  await writeFile(knownHosts, keys.map((k) => `[127.0.0.1]:${g.sshPort} ${k}\n`).join(""));
  const { stdout } = await run(
    "ssh",
    [
      ["-i", sshKey, "-p", String(g.sshPort), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"],
      [
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
      ],
      ["core@127.0.0.1", command],
    ].flat(),
    { timeout: 30_000 },
  );
  return stdout;
}

async function waitUnitActive(g: Guest, unit: string, timeoutMs = 90_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let fields: string[] = [];
  while (Date.now() < deadline) {
    const out = await fleet(g, ["list-units", "--no-legend", "--full", "--fields=unit,active,sub,machine"]);
    const line = out.split("\n").find((l) => l.startsWith(`${unit}\t`));
    fields = line ? line.split("\t").map((f) => f.trim()) : [];
    if (fields[1] === "active") return fields;
    await sleep(1000);
  }
  throw new Error(
    `${g.tag}: ${unit} not active within ${timeoutMs} ms (last: ${fields.join(" ") || "not listed"})`,
  );
}

const TEST_UNIT = "lab-fleet-test.service";

/** Registered with role=etcd, runs a submitted unit; returns the machine id. */
async function checkFleet(g: Guest): Promise<string> {
  const machines = await waitRegistered(g);
  expect(machines, "exactly one fleet machine").toHaveLength(1);
  const [machine] = machines;
  expect(machine!.metadata).toBe("role=etcd");
  expect(machine!.ip).toBe(GUEST_IP);
  expect(machine!.id).toMatch(/^[0-9a-f]{32}$/);

  const unitFile = path.join(work, TEST_UNIT);
  await writeFile(
    unitFile,
    "[Unit]\nDescription=lab-fleet image test\n\n[Service]\nExecStart=/bin/sleep 3600\n",
  );
  const started = Date.now();
  await fleet(g, ["start", unitFile], 120_000);
  const [, active, sub, where] = await waitUnitActive(g, TEST_UNIT);
  expect([active, sub]).toEqual(["active", "running"]);
  expect(where).toContain(GUEST_IP);
  timings.push(
    `${g.tag}: ${TEST_UNIT} active ${((Date.now() - started) / 1000).toFixed(1)} s after fleetctl start`,
  );
  return machine!.id;
}

beforeAll(async () => {
  if (skip) return;
  work = await mkdtemp(path.join(tmpdir(), "lab-fleet-image-"));
  sshKey = path.join(work, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lab-test@lab", "-f", sshKey]);
  sshPub = (await readFile(`${sshKey}.pub`, "utf8")).trim();
}, 60_000);

afterAll(async () => {
  for (const g of guests) if (running(g) && g.proc.pid) process.kill(g.proc.pid, "SIGKILL");
  await Promise.all(guests.map((g) => g.exited));
  if (work) await rm(work, { recursive: true, force: true });
  if (timings.length > 0) console.log(`lab-fleet image\n  ${timings.join("\n  ")}`);
});

describe.skipIf(skip)("lab-fleet guest image (Flatcar's coreos-cloudinit)", () => {
  const bundle = path.join(repoRoot, ".cache/images/lab-fleet");
  let manifest: Manifest;
  const machineIds: string[] = [];

  beforeAll(async () => {
    manifest = await buildImage(bundle, "flatcar");
  }, BUILD_TIMEOUT_MS + 60_000);

  it("has a complete bundle and manifest", () => {
    expect(manifest).toMatchObject({
      name: "lab-fleet",
      format: "qcow2",
      disk: "disk.qcow2",
      fleet: true,
      guest: "lab-fleet",
      cloudinit: "flatcar",
    });
    expect(manifest.version).toMatch(/^[0-9a-f]{16}$/);
    expect(manifest.boot.cmdline).toContain("root=/dev/vda");
    expect(manifest.boot.cmdline).toContain("net.ifnames=0");
    expect(manifest.features.configDrive).toEqual(expect.arrayContaining(["iso9660", "9p"]));
    for (const f of [manifest.disk, manifest.boot.kernel, manifest.boot.initrd]) {
      expect(existsSync(path.join(bundle, f)), f).toBe(true);
    }
  });

  it(
    "boots from an ISO config drive into etcd2 + fleet (role=etcd) and runs a fleet unit",
    async () => {
      const drive = await configDrive("iso", "etcd", true);
      const g = await boot(
        "iso",
        bundle,
        manifest,
        await overlay(bundle, manifest, "iso"),
        [["-drive", `file=${drive.iso},if=virtio,format=raw,readonly=on`]].flat(),
      );
      machineIds.push(await checkFleet(g));

      // The console's host keys are sshd's (ssh refuses anything else), the cloud-config's key
      // reached core through update-ssh-keys, and the rest of what coreos-cloudinit did.
      const keys = await hostKeys(g);
      expect(keys.map((k) => k.split(" ")[0])).toEqual(expect.arrayContaining(["ssh-ed25519"]));
      const out = await ssh(
        g,
        [
          "hostname",
          "cat /etc/machine-id",
          "grep ^COREOS_PRIVATE_IPV4= /etc/environment",
          "systemctl is-active etcd2.service fleet.service fleet.socket",
          "systemctl is-enabled etcd2.service fleet.service || true",
          // meta_data.json and user_data carry the same key: coreos-cloudinit passes it twice.
          "sudo -n sort -u /home/core/.ssh/authorized_keys.d/coreos-cloudinit",
          "findmnt -n -o FSTYPE /media/configdrive",
          // fleetctl's default endpoint, unix:///var/run/fleet.sock, inside the guest.
          "fleetctl list-machines --no-legend --full | cut -f3",
        ].join(" && "),
      );
      const lines = out.trim().split("\n");
      expect(lines[0]).toBe("etcd");
      expect(lines[1]).toBe(machineIds[0]);
      expect(lines[2]).toBe(`COREOS_PRIVATE_IPV4=${GUEST_IP}`);
      expect(lines.slice(3, 6)).toEqual(["active", "active", "active"]);
      // Started by cloud-config, never enabled (the first boot's presets must not enable them).
      expect(lines.slice(6, 8)).toEqual(["disabled", "disabled"]);
      expect(lines[8]).toBe(sshPub);
      expect(lines[9]).toBe("iso9660");
      expect(lines[10]).toBe("role=etcd");
      await stop(g);
    },
    REGISTER_TIMEOUT_MS + 180_000,
  );

  it(
    "boots from a 9p config share tagged config-2, as a machine of its own",
    async () => {
      const drive = await configDrive("9p", "etcd", false);
      const g = await boot(
        "9p",
        bundle,
        manifest,
        await overlay(bundle, manifest, "9p"),
        [
          ["-fsdev", `local,id=c2,path=${drive.dir},security_model=none,readonly=on`],
          ["-device", "virtio-9p-pci,fsdev=c2,mount_tag=config-2"],
        ].flat(),
      );
      const id = await checkFleet(g);
      // Every VM makes its own machine-id on first boot: fleet tells machines apart by it.
      expect(machineIds).not.toContain(id);
      machineIds.push(id);
      expect((await ssh(g, "findmnt -n -o FSTYPE /media/configvirtfs")).trim()).toBe("9p");
      await stop(g);
    },
    REGISTER_TIMEOUT_MS + 180_000,
  );
});

describe.skipIf(skip || process.env.LAB_FLEET_TEST_COREOS === "0")(
  "lab-fleet guest image (CoreOS's coreos-cloudinit v1.14.0)",
  () => {
    const bundle = path.join(repoRoot, ".cache/images/lab-fleet-coreos");
    let manifest: Manifest;

    beforeAll(async () => {
      manifest = await buildImage(bundle, "coreos");
    }, BUILD_TIMEOUT_MS + 60_000);

    it(
      "boots from an ISO config drive into etcd2 + fleet (role=etcd) and runs a fleet unit",
      async () => {
        expect(manifest.cloudinit).toBe("coreos");
        const drive = await configDrive("coreos-iso", "etcd", true);
        const g = await boot(
          "coreos-iso",
          bundle,
          manifest,
          await overlay(bundle, manifest, "coreos-iso"),
          [["-drive", `file=${drive.iso},if=virtio,format=raw,readonly=on`]].flat(),
        );
        await checkFleet(g);
        expect((await ssh(g, "coreos-cloudinit --version")).trim()).toContain("v1.14.0");
        await stop(g);
      },
      REGISTER_TIMEOUT_MS + 180_000,
    );
  },
);
