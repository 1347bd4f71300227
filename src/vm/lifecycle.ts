// start / stop / destroy of a VM's qemu, with its tap on the bridge and its config-2 drive.
import { mkdir, rm } from "node:fs/promises";
import type { LabContext } from "../context.js";
import { ConflictError, HostToolError, NotFoundError } from "../errors.js";
import { signalOurProcess, waitForExit } from "../host/proc.js";
import { checkBootDisks } from "../image/disk-header.js";
import { resolveImage } from "../image/resolve.js";
import { bridgePresent, reservationsFor } from "../net/network.js";
import { ensureLabKeyPair } from "../ssh/keys.js";
import { readText } from "../state/atomic.js";
import { faultPoint } from "../state/faults.js";
import { groupDir } from "../state/group.js";
import { validateVmName } from "../state/names.js";
import { withRollback } from "../state/steps.js";
import { resolveAccel } from "./accel.js";
import { createOverlay, removeVmFiles, writeVmConfigDrive } from "./files.js";
import { removeVmPorts } from "./ports.js";
import { buildQemuArgs } from "./qemu-args.js";
import { qmpCommand } from "./qmp.js";
import { qemuMarkers, runningPid, type VmStatus, vmStatus } from "./status.js";
import { attachTap, detachTap } from "./tap.js";

export function getSpec(ctx: LabContext, name: string) {
  const spec = ctx.ledger.read().vms[validateVmName(name)];
  if (!spec)
    throw new NotFoundError(`no VM named ${name}`, {
      hint: "see 'lab vm list', or create it with 'lab vm create'",
    });
  return spec;
}

export async function serialTail(ctx: LabContext, name: string, lines = 20): Promise<string> {
  const text = (await readText(ctx.paths.vm(name).serialLog)) ?? "";
  return text.replace(/\r/g, "").trimEnd().split("\n").slice(-lines).join("\n");
}

async function waitForQemu(ctx: LabContext, name: string, exited: Promise<unknown>): Promise<number> {
  const f = ctx.paths.vm(name);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !gone) {
    const pid = runningPid(ctx, name);
    if (pid !== undefined) {
      try {
        await qmpCommand(f.qmp, "query-status", undefined, 1000);
        return pid;
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const log = ((await readText(f.qemuLog)) ?? "").trim();
  throw new HostToolError(["qemu-system-x86_64", "-name", name], undefined, log || "qemu did not start", {
    hint: `see ${f.qemuLog}`,
  });
}

/** Starts the VM's qemu. Already running: nothing changes. */
export async function startVm(
  ctx: LabContext,
  name: string,
): Promise<{ status: VmStatus; changed: boolean }> {
  const spec = getSpec(ctx, name);
  const ledger = ctx.ledger.read();
  const id = ledger.identities[name]!;
  if (runningPid(ctx, name) !== undefined) return { status: vmStatus(ctx, spec, id), changed: false };
  const net = ledger.networks[spec.network];
  if (!net || !(await bridgePresent(ctx, net.bridge))) {
    throw new ConflictError(`network ${spec.network} is not up`, {
      hint: `run 'lab net up ${spec.network}'`,
    });
  }
  const image = await resolveImage(ctx.paths, spec.image);
  const accel = await resolveAccel(ctx.host, ctx.paths.run, spec.accel);
  const f = ctx.paths.vm(name);
  await ctx.dnsmasq.reload(net, reservationsFor(ledger, net.name));
  await withRollback(async (undo) => {
    // A create cut short by a crash may have left no overlay: make it now.
    await createOverlay(ctx, name, image);
    await checkBootDisks(image.diskPath, f.disk);
    await mkdir(f.runDir, { recursive: true, mode: 0o700 });
    await groupDir(ctx.paths.consolesDir);
    for (const stale of [f.pid, f.qmp, f.console]) await rm(stale, { force: true });
    undo.push("tap", () => detachTap(ctx, name));
    // The drive (genisoimage) and the tap (ip, ovs-vsctl) do not depend on each other.
    const [tap] = await Promise.all([
      attachTap(ctx, name, net.bridge),
      // lab's own key on every VM, so that `lab vm ssh` works without the user's keys.
      ensureLabKeyPair(ctx.host, ctx.paths).then((key) => writeVmConfigDrive(ctx, spec, [key])),
    ]);
    faultPoint("vm-start:qemu");
    const argv = buildQemuArgs({
      name,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      accel,
      mac: id.mac,
      tap,
      disk: f.disk,
      configDrive:
        spec.configDrive === "iso" ? { kind: "iso", iso: f.configIso } : { kind: "9p", dir: f.configDir },
      boot: image.manifest.boot && {
        kernel: image.kernelPath!,
        initrd: image.initrdPath,
        cmdline: image.manifest.boot.cmdline,
      },
      files: { pid: f.pid, qmp: f.qmp, console: f.console, serialLog: f.serialLog },
    });
    await rm(f.qemuLog, { force: true });
    const child = await ctx.host.spawn(argv, { logFile: f.qemuLog });
    undo.push("qemu", async () => {
      signalOurProcess(child.pid, qemuMarkers(f.pid), "SIGKILL");
      await waitForExit(child.pid, 3000);
    });
    const pid = await waitForQemu(ctx, name, child.exited);
    await ctx.ledger.update((l) => {
      const v = l.vms[name]!;
      v.wantRunning = true;
      delete v.lastExit;
    });
    ctx.watcher.watch(name, pid, child.exited);
  });
  ctx.events.emit("vm.started", { vm: name, ip: id.ip, mac: id.mac, accel });
  return { status: vmStatus(ctx, getSpec(ctx, name), id), changed: true };
}

/** Asks the guest to power off (ACPI over QMP), then ends qemu after the timeout. */
export async function stopVm(
  ctx: LabContext,
  name: string,
  timeoutMs = 30_000,
): Promise<{ changed: boolean }> {
  getSpec(ctx, name);
  await ctx.ledger.update((l) => {
    l.vms[name]!.wantRunning = false;
  });
  const pid = runningPid(ctx, name);
  if (pid === undefined) {
    await detachTap(ctx, name);
    return { changed: false };
  }
  const f = ctx.paths.vm(name);
  await qmpCommand(f.qmp, "system_powerdown").catch(() => undefined);
  if (!(await waitForExit(pid, timeoutMs))) {
    await qmpCommand(f.qmp, "quit").catch(() => undefined);
    if (!(await waitForExit(pid, 3000))) {
      signalOurProcess(pid, qemuMarkers(f.pid), "SIGKILL");
      await waitForExit(pid, 3000);
    }
  }
  await detachTap(ctx, name);
  ctx.events.emit("vm.stopped", { vm: name });
  return { changed: true };
}

/** Removes the VM's disk, drive and port. Its MAC and IP stay reserved unless `forget`. */
export async function destroyVm(
  ctx: LabContext,
  name: string,
  forget: boolean,
): Promise<{ removed: boolean; forgotten: boolean }> {
  validateVmName(name);
  const ledger = ctx.ledger.read();
  const spec = ledger.vms[name];
  if (spec) {
    await stopVm(ctx, name, 5000);
    ctx.watcher.forget(name);
    await removeVmFiles(ctx, name);
    await removeVmPorts(ctx, name);
  }
  const id = ledger.identities[name];
  await ctx.ledger.update((l) => {
    delete l.vms[name];
    if (forget) delete l.identities[name];
  });
  if (forget && id) {
    const net = ctx.ledger.read().networks[id.network];
    // The address is free again: so is dnsmasq's lease on it, or the next VM would not get it.
    if (net) await ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name), [id]);
  }
  if (spec || (forget && id)) ctx.events.emit("vm.destroyed", { vm: name, forgotten: forget && !!id });
  return { removed: !!spec, forgotten: forget && !!id };
}
