// Builds the offline lab-test guest image (scripts/build-test-image.mjs, cached) and boots it under
// plain qemu (TCG) with each kind of config drive: ISO9660, vfat and, when the kernel has it, 9p.
// qemu's user networking (restricted to the guest) serves the DHCP lease, so nothing leaves the host.
import { type ChildProcess, execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReadyLine } from "../helpers/guest.js";
import { spawnQemu } from "../helpers/qemu.js";

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// LAB_TEST_KERNEL=<version> runs the same boots on another installed kernel (e.g. the cloud one),
// built into a bundle of its own; by default the build script picks the kernel.
const kernel = process.env.LAB_TEST_KERNEL;
const bundle = path.join(repoRoot, ".cache/images", kernel ? `lab-test-${kernel}` : "lab-test");

interface Manifest {
  name: string;
  version: string;
  disk: string;
  boot: { kernel: string; initrd: string; cmdline: string };
  features: { configDrive: string[] };
  kernelVersion: string;
}

type Ready = ReadyLine;

interface Guest {
  proc: ChildProcess;
  log: string;
  qmp: string;
  exited: Promise<number | null>;
}

let work = "";
let manifest: Manifest;
let baseSha = "";
const guests: Guest[] = [];
const timings: string[] = [];

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

/** An OpenStack-style config tree: openstack/latest/{meta_data.json,user_data}. */
async function configTree(dir: string, meta: Record<string, string>, userData: string): Promise<string> {
  const latest = path.join(dir, "openstack/latest");
  await mkdir(latest, { recursive: true });
  await writeFile(path.join(latest, "meta_data.json"), JSON.stringify(meta));
  await writeFile(path.join(latest, "user_data"), userData);
  return dir;
}

async function overlay(name: string): Promise<string> {
  const file = path.join(work, `${name}.qcow2`);
  await run("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    "-F",
    "qcow2",
    "-b",
    path.join(bundle, manifest.disk),
    file,
  ]);
  return file;
}

function boot(tag: string, disk: string, mac: string, extra: string[]): Guest {
  const log = path.join(work, `${tag}.log`);
  const qmp = path.join(work, `${tag}.qmp`);
  const args = [
    ["-accel", "tcg", "-m", "256", "-display", "none", "-no-user-config", "-nodefaults"],
    ["-serial", `file:${log}`, "-qmp", `unix:${qmp},server=on,wait=off`],
    ["-kernel", path.join(bundle, manifest.boot.kernel), "-initrd", path.join(bundle, manifest.boot.initrd)],
    ["-append", manifest.boot.cmdline],
    ["-drive", `file=${disk},if=virtio,format=qcow2`],
    ["-netdev", "user,id=n0,restrict=on", "-device", `virtio-net-pci,netdev=n0,mac=${mac}`],
    extra,
  ].flat();
  const { proc, exited } = spawnQemu(tag, args);
  const guest = { proc, log, qmp, exited };
  guests.push(guest);
  return guest;
}

const running = (g: Guest) => g.proc.exitCode === null && g.proc.signalCode === null;

async function waitReady(g: Guest, tag: string, timeoutMs = 60_000): Promise<Ready> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const text = existsSync(g.log) ? await readFile(g.log, "utf8") : "";
    // The UART trickles bytes into the log: only whole lines count.
    const lines = text.split(/\r?\n/).slice(0, -1);
    const line = lines.find((l) => l.startsWith("LAB-READY "));
    if (line) {
      timings.push(`${tag}: ready ${((Date.now() - start) / 1000).toFixed(1)} s after spawn`);
      for (const err of lines.filter((l) => l.startsWith("LAB-ERROR"))) console.warn(tag, err);
      return JSON.parse(line.slice("LAB-READY ".length)) as Ready;
    }
    if (!running(g)) throw new Error(`qemu ${tag} exited before LAB-READY; console:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no LAB-READY from ${tag} in ${timeoutMs} ms; console:\n${await readFile(g.log, "utf8")}`);
}

/** Sends one QMP command (after the capabilities handshake) and resolves with its reply. */
function qmpCommand(socketPath: string, command: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${command}: no reply`));
    }, 10_000);
    let buf = "";
    let step = 0;
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("data", (d) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if ("event" in msg) continue;
        if ("error" in msg) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error(`QMP ${command}: ${JSON.stringify(msg.error)}`));
          return;
        }
        // Greeting, then the qmp_capabilities reply, then ours.
        if (step === 0) sock.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
        else if (step === 1) sock.write(`${JSON.stringify({ execute: command })}\n`);
        else {
          clearTimeout(timer);
          sock.end();
          resolve(msg.return);
        }
        step++;
      }
    });
  });
}

/** Presses the ACPI power button and requires qemu to exit by itself, cleanly, within 15 s. */
async function powerOff(g: Guest, tag: string): Promise<void> {
  const start = Date.now();
  await qmpCommand(g.qmp, "system_powerdown");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((r) => {
    timer = setTimeout(() => r("still running after 15 s"), 15_000);
  });
  const code = await Promise.race([g.exited, timeout]).finally(() => clearTimeout(timer));
  expect(code, `${tag}: qemu should exit by itself after system_powerdown`).toBe(0);
  // The guest kernel's own last words: proof that the guest powered off, not that qemu gave up.
  expect(await readFile(g.log, "utf8")).toContain("reboot: Power down");
  timings.push(`${tag}: powered off ${((Date.now() - start) / 1000).toFixed(1)} s after system_powerdown`);
}

beforeAll(async () => {
  const args = kernel ? ["--out", bundle, "--kernel-version", kernel] : [];
  const zx = path.join(repoRoot, "node_modules/.bin/zx");
  await run(zx, [path.join(repoRoot, "scripts/build-test-image.mjs"), ...args], { timeout: 170_000 });
  manifest = JSON.parse(await readFile(path.join(bundle, "manifest.json"), "utf8")) as Manifest;
  baseSha = await sha256(path.join(bundle, manifest.disk));
  work = await mkdtemp(path.join(tmpdir(), "lab-test-image-"));
});

afterAll(async () => {
  for (const g of guests) if (running(g) && g.proc.pid) process.kill(g.proc.pid, "SIGKILL");
  await Promise.all(guests.map((g) => g.exited));
  if (work) await rm(work, { recursive: true, force: true });
  if (manifest)
    console.log(`lab-test ${manifest.version} (${manifest.kernelVersion})\n  ${timings.join("\n  ")}`);
});

/** Boots, checks the whole ready line (first boot of a fresh overlay unless told), powers off. */
async function bootAndCheck(tag: string, disk: string, extra: string[], want: Partial<Ready>): Promise<void> {
  const mac = `52:54:00:12:34:${(0x50 + guests.length).toString(16)}`;
  const g = boot(tag, disk, mac, extra);
  const ready = await waitReady(g, tag);
  expect(ready).toEqual({ mac, ip: "10.0.2.15", marker: false, boots: 1, ...want });
  await powerOff(g, tag);
}

const meta = (n: number, hostname = `node${n}`) => ({
  uuid: `5f0c6f1e-0000-4000-8000-00000000000${n}`,
  name: `node${n}`,
  hostname,
});
const mkiso = (iso: string, dir: string) =>
  run("xorriso", ["-as", "mkisofs", "-V", "config-2", "-J", "-R", "-o", iso, dir]);

describe("lab-test guest image", () => {
  it("has a complete bundle and manifest", () => {
    expect(manifest.name).toBe("lab-test");
    expect(manifest.boot.cmdline).toContain("panic=-1");
    for (const f of [manifest.disk, manifest.boot.kernel, manifest.boot.initrd]) {
      expect(existsSync(path.join(bundle, f)), f).toBe(true);
    }
    expect(manifest.features.configDrive).toEqual(expect.arrayContaining(["iso9660", "vfat"]));
  });

  let disk = "";
  const iso = () => path.join(work, "drive.iso");

  it("boots with an ISO9660 config drive, takes a lease, and powers off on the ACPI button", async () => {
    await mkiso(
      iso(),
      await configTree(path.join(work, "iso"), meta(1), '#cloud-config\nhostname: "web-1"\n'),
    );
    disk = await overlay("node1");
    const drive = ["-drive", `file=${iso()},if=virtio,format=raw,readonly=on`];
    await bootAndCheck("iso-boot1", disk, drive, {
      name: "node1",
      hostname: "web-1",
      configDrive: "iso9660",
    });
  });

  it("finds its marker on a second boot of the same overlay, leaving the base disk untouched", async () => {
    expect(disk, "needs the first boot's overlay").not.toBe("");
    const drive = ["-drive", `file=${iso()},if=virtio,format=raw,readonly=on`];
    const want = { name: "node1", hostname: "web-1", configDrive: "iso9660", marker: true, boots: 2 };
    await bootAndCheck("iso-boot2", disk, drive, want);
    expect(await sha256(path.join(bundle, manifest.disk))).toBe(baseSha);
  });

  it("reads a vfat config drive labelled config-2", async () => {
    const tree = await configTree(path.join(work, "vfat"), meta(2), "#cloud-config\nhostname: 'vfat-2'\n");
    const img = path.join(work, "drive.vfat");
    await run("mkfs.vfat", ["-C", "-n", "config-2", img, "1024"]);
    await run("mmd", ["-i", img, "::openstack", "::openstack/latest"]);
    for (const f of ["meta_data.json", "user_data"]) {
      await run("mcopy", ["-i", img, path.join(tree, "openstack/latest", f), `::openstack/latest/${f}`]);
    }
    const drive = ["-drive", `file=${img},if=virtio,format=raw,readonly=on`];
    await bootAndCheck("vfat", await overlay("node2"), drive, {
      name: "node2",
      hostname: "vfat-2",
      configDrive: "vfat",
    });
  });

  it("reads an ISO9660 config drive attached as an IDE cdrom", async () => {
    const cd = path.join(work, "cdrom.iso");
    await mkiso(
      cd,
      await configTree(path.join(work, "cdrom"), meta(3), "#cloud-config\nhostname: cd-3 # a comment\n"),
    );
    const drive = ["-drive", `file=${cd},if=ide,media=cdrom,readonly=on`];
    await bootAndCheck("cdrom", await overlay("node3"), drive, {
      name: "node3",
      hostname: "cd-3",
      configDrive: "iso9660",
    });
  });

  it("reads a 9p config share tagged config-2 (when the kernel has 9p)", async (ctx) => {
    if (!manifest.features.configDrive.includes("9p"))
      ctx.skip("this image's kernel has no 9p (manifest says so)");
    // No hostname in user_data: the guest falls back to meta_data's hostname.
    const tree = await configTree(path.join(work, "9p"), meta(4, "node4.lab"), "#cloud-config\nusers: []\n");
    const share = [
      ["-fsdev", `local,id=c2,path=${tree},security_model=none,readonly=on`],
      ["-device", "virtio-9p-pci,fsdev=c2,mount_tag=config-2"],
    ].flat();
    await bootAndCheck("9p", await overlay("node4"), share, {
      name: "node4",
      hostname: "node4.lab",
      configDrive: "9p",
    });
  });
});
