// A VM's start as named steps (firecracker-go-sdk's handler list is the model): network, image,
// accel, dns, overlay, then tap and drive together, qemu, ready, record. Each makes one thing and
// returns its undo; what a step learns (the image, the accelerator, the tap, qemu's process) passes
// to the next in the StartState, so the image is resolved and the user_data rendered once.
import { mkdir, rm } from "node:fs/promises";
import type { LabContext } from "../context.js";
import { ConflictError, HostToolError, InternalError } from "../errors.js";
import type { Spawned } from "../host/host.js";
import { signalOurProcess, waitForExit } from "../host/proc.js";
import { checkBootDisks } from "../image/disk-header.js";
import { type ResolvedImage, resolveImage } from "../image/resolve.js";
import { bridgePresent, reservationsFor } from "../net/network.js";
import { ensureLabKeyPair } from "../ssh/keys.js";
import { readText } from "../state/atomic.js";
import { groupDir } from "../state/group.js";
import type { Identity, NetworkSpec, VmSpec } from "../state/ledger.js";
import type { Step, StepEntry } from "../state/steps.js";
import { resolveAccel } from "./accel.js";
import { createOverlay, removeVmFiles, renderVmUserData, writeVmConfigDrive } from "./files.js";
import { buildQemuArgs } from "./qemu-args.js";
import { qmpCommand } from "./qmp.js";
import { qemuMarkers, runningPid } from "./status.js";
import { attachTap, detachTap } from "./tap.js";

export interface StartState {
  readonly ctx: LabContext;
  readonly spec: VmSpec;
  readonly id: Identity;
  readonly net: NetworkSpec;
  /** Made by this same operation (a create): a failure removes the VM's files too. */
  readonly fresh: boolean;
  /** Resolved once: by the create's plan, else by the image step. */
  image?: ResolvedImage;
  accel?: "kvm" | "tcg";
  tap?: string;
  child?: Spawned;
  pid?: number;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InternalError(`a VM start step ran before ${what} was known`);
  return value;
}

const step = (
  name: string,
  run: Step<StartState>["run"],
  undo?: Step<StartState>["undo"],
): Step<StartState> => ({ name, fault: `vm-start:${name}`, run, ...(undo ? { undo } : {}) });

const network = step("network", async ({ ctx, net }) => {
  if (!(await bridgePresent(ctx, net.bridge))) {
    throw new ConflictError(`network ${net.name} is not up`, { hint: `run 'lab net up ${net.name}'` });
  }
});

const image = step("image", async (s) => {
  s.image ??= await resolveImage(s.ctx.paths, s.spec.image);
});

const accel = step("accel", async (s) => {
  s.accel = await resolveAccel(s.ctx.host, s.ctx.paths.run, s.spec.accel);
});

// No undo of its own: dnsmasq follows the ledger, and a create's ledger step reloads it on undo.
const dns = step("dns", async ({ ctx, net }) => {
  await ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name));
});

// A create cut short by a crash may have left no overlay: start makes it too. A new VM's files
// (disk, drive, record, run directory, serial log) all go when its create fails.
const overlay = step(
  "overlay",
  async (s) => {
    const img = need(s.image, "the image");
    await createOverlay(s.ctx, s.spec.name, img);
    await checkBootDisks(img.diskPath, s.ctx.paths.vm(s.spec.name).disk);
  },
  async (s) => {
    if (s.fresh) await removeVmFiles(s.ctx, s.spec.name);
  },
);

const tap = step(
  "tap",
  async (s) => {
    s.tap = await attachTap(s.ctx, s.spec.name, s.net.bridge);
  },
  (s) => detachTap(s.ctx, s.spec.name),
);

// The user_data is rendered here and only here; a bad template fails the create or start.
const drive = step("drive", async (s) => {
  const { ctx, spec, id, net } = s;
  // lab's own key on every VM, so that `lab vm ssh` works without the user's keys.
  const sshKeys = [...spec.sshKeys, await ensureLabKeyPair(ctx.host, ctx.paths)];
  const userData = await renderVmUserData(ctx, { spec, id, net, image: need(s.image, "the image"), sshKeys });
  await writeVmConfigDrive(ctx, { spec, id, userData, sshKeys });
});

const qemu = step("qemu", async (s) => {
  const { ctx, spec, id } = s;
  const img = need(s.image, "the image");
  const f = ctx.paths.vm(spec.name);
  await mkdir(f.runDir, { recursive: true, mode: 0o700 });
  await groupDir(ctx.paths.consolesDir);
  for (const stale of [f.pid, f.qmp, f.console, f.qemuLog]) await rm(stale, { force: true });
  const argv = buildQemuArgs({
    name: spec.name,
    memoryMiB: spec.memoryMiB,
    cpus: spec.cpus,
    accel: need(s.accel, "the accelerator"),
    mac: id.mac,
    tap: need(s.tap, "the tap"),
    disk: f.disk,
    configDrive:
      spec.configDrive === "iso" ? { kind: "iso", iso: f.configIso } : { kind: "9p", dir: f.configDir },
    boot: img.manifest.boot && {
      kernel: img.kernelPath!,
      initrd: img.initrdPath,
      cmdline: img.manifest.boot.cmdline,
    },
    files: { pid: f.pid, qmp: f.qmp, console: f.console, serialLog: f.serialLog },
  });
  const child = await ctx.host.spawn(argv, { logFile: f.qemuLog });
  s.child = child;
  return async () => {
    signalOurProcess(child.pid, qemuMarkers(f.pid), "SIGKILL");
    await waitForExit(child.pid, 3000);
  };
});

/** Waits until qemu wrote its pid file and answers on QMP; its log is the error when it ends first. */
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

const ready = step("ready", async (s) => {
  s.pid = await waitForQemu(s.ctx, s.spec.name, need(s.child, "qemu's process").exited);
});

const record = step("record", async (s) => {
  const { ctx, spec } = s;
  await ctx.ledger.update((l) => {
    const v = l.vms[spec.name]!;
    v.wantRunning = true;
    delete v.lastExit;
  });
  ctx.watcher.watch(spec.name, need(s.pid, "qemu's pid"), s.child?.exited);
});

/** Every step of a start, in order. The tap (ip, ovs-vsctl) and the drive (genisoimage) run together. */
export function startSteps(): StepEntry<StartState>[] {
  return [
    network,
    image,
    accel,
    dns,
    overlay,
    { name: "tap+drive", together: [tap, drive] },
    qemu,
    ready,
    record,
  ];
}

/** What `create --no-start` prepares: the VM's disk and drive, ready for a later start. */
export function prepareSteps(): StepEntry<StartState>[] {
  return [image, dns, overlay, drive];
}
