// Snapshots of VMs, internal to each VM's qcow2 overlay. A running VM saves and restores disk and
// memory (savevm/loadvm); a stopped VM saves and restores its disk (qemu-img snapshot). A lab
// snapshot pauses every running VM of the lab first, so all are cut at one instant, and a lab
// restore checks everything before it touches a VM and undoes its own work if one VM fails.
import { randomBytes } from "node:crypto";
import type { LabContext } from "../context.js";
import { ConflictError, NotFoundError, UsageError } from "../errors.js";
import { getSpec } from "./lifecycle.js";
import {
  diskSnapshot,
  listDiskSnapshots,
  monitor,
  pauseVm,
  resumeVm,
  type SnapshotInfo,
} from "./snapshot-tools.js";
import { runningPid } from "./status.js";

// A letter first: HMP's savevm/loadvm also match a snapshot by its numeric id.
const SNAPSHOT_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,62}$/;
const UNDO_PREFIX = "lab-undo-";

export function validateSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME.test(name) || name.startsWith(UNDO_PREFIX))
    throw new UsageError(`invalid snapshot name ${JSON.stringify(name)}`, {
      hint: `use 1-63 letters, digits, '.', '_' or '-', starting with a letter (not '${UNDO_PREFIX}')`,
    });
  return name;
}

const running = (ctx: LabContext, vm: string) => runningPid(ctx, vm) !== undefined;

export async function listSnapshots(ctx: LabContext, vm: string): Promise<SnapshotInfo[]> {
  getSpec(ctx, vm);
  return (await listDiskSnapshots(ctx, vm)).filter((s) => !s.name.startsWith(UNDO_PREFIX));
}

async function find(ctx: LabContext, vm: string, snap: string): Promise<SnapshotInfo | undefined> {
  return (await listDiskSnapshots(ctx, vm)).find((s) => s.name === snap);
}

/** Saves with whatever the VM's state allows: memory and disk when it runs, the disk when not. */
async function save(ctx: LabContext, vm: string, snap: string): Promise<void> {
  if (running(ctx, vm)) await monitor(ctx, vm, `savevm ${snap}`);
  else await diskSnapshot(ctx, "create", vm, snap);
}

async function restore(ctx: LabContext, vm: string, snap: string): Promise<void> {
  if (running(ctx, vm)) await monitor(ctx, vm, `loadvm ${snap}`);
  else await diskSnapshot(ctx, "apply", vm, snap);
}

async function remove(ctx: LabContext, vm: string, snap: string): Promise<void> {
  if (running(ctx, vm)) await monitor(ctx, vm, `delvm ${snap}`);
  else await diskSnapshot(ctx, "delete", vm, snap);
}

/** Why `snap` cannot be restored into `vm` as it is now, or undefined when it can. */
function restoreProblem(ctx: LabContext, vm: string, snap: string, info: SnapshotInfo | undefined) {
  if (!info)
    return new NotFoundError(`VM ${vm} has no snapshot ${snap}`, {
      hint: `see 'lab vm snapshot list ${vm}'`,
    });
  if (running(ctx, vm) && info.vmStateBytes === 0)
    return new ConflictError(`snapshot ${snap} of VM ${vm} holds its disk only, and the VM runs`, {
      hint: `stop it first ('lab vm stop ${vm}'), then restore: it boots from the restored disk`,
    });
  return undefined;
}

export async function saveSnapshot(ctx: LabContext, vm: string, snap: string) {
  getSpec(ctx, vm);
  validateSnapshotName(snap);
  if (await find(ctx, vm, snap))
    throw new ConflictError(`VM ${vm} already has a snapshot ${snap}`, {
      hint: `pick another name, or remove it first ('lab vm snapshot rm ${vm} ${snap}')`,
    });
  await save(ctx, vm, snap);
  ctx.events.emit("vm.snapshot.saved", { vm, snapshot: snap });
  return { vm, snapshot: snap, memory: running(ctx, vm) };
}

export async function restoreSnapshot(ctx: LabContext, vm: string, snap: string) {
  getSpec(ctx, vm);
  validateSnapshotName(snap);
  const problem = restoreProblem(ctx, vm, snap, await find(ctx, vm, snap));
  if (problem) throw problem;
  await restore(ctx, vm, snap);
  ctx.events.emit("vm.snapshot.restored", { vm, snapshot: snap });
  return { vm, snapshot: snap, memory: running(ctx, vm) };
}

export async function removeSnapshot(ctx: LabContext, vm: string, snap: string) {
  getSpec(ctx, vm);
  validateSnapshotName(snap);
  const had = (await find(ctx, vm, snap)) !== undefined;
  if (had) await remove(ctx, vm, snap);
  return { vm, snapshot: snap, removed: had };
}

/** Pauses the running ones among `vms`; returns those it paused (resume them after). */
async function pauseAll(ctx: LabContext, vms: string[]): Promise<string[]> {
  const paused: string[] = [];
  try {
    for (const vm of vms.filter((v) => running(ctx, v))) {
      await pauseVm(ctx, vm);
      paused.push(vm);
    }
  } catch (err) {
    await resumeAll(ctx, paused);
    throw err;
  }
  return paused;
}

async function resumeAll(ctx: LabContext, vms: string[]): Promise<void> {
  for (const vm of vms) await resumeVm(ctx, vm).catch(() => undefined);
}

function checkVms(ctx: LabContext, vms: string[]): void {
  if (vms.length === 0) throw new UsageError("the lab file declares no machines");
  for (const vm of vms) getSpec(ctx, vm);
}

/** Every VM at one paused instant: all are paused, each saved, then all resumed. */
export async function saveLabSnapshot(ctx: LabContext, vms: string[], snap: string) {
  checkVms(ctx, vms);
  validateSnapshotName(snap);
  for (const vm of vms)
    if (await find(ctx, vm, snap))
      throw new ConflictError(`VM ${vm} already has a snapshot ${snap}`, {
        hint: "pick another name; nothing was saved",
      });
  const paused = await pauseAll(ctx, vms);
  const saved: string[] = [];
  try {
    for (const vm of vms) {
      await save(ctx, vm, snap);
      saved.push(vm);
    }
  } catch (err) {
    // Half a lab snapshot is no snapshot: remove what was saved.
    for (const vm of saved) await remove(ctx, vm, snap).catch(() => undefined);
    throw err;
  } finally {
    await resumeAll(ctx, paused);
  }
  ctx.events.emit("lab.snapshot.saved", { snapshot: snap, vms });
  return { snapshot: snap, vms: vms.map((vm) => ({ name: vm, memory: paused.includes(vm) })) };
}

/**
 * Every VM back to the snapshot, or none: each VM's snapshot is checked first; then, with all
 * paused, each VM's present state is saved aside before it is restored, and if any restore fails
 * the ones already restored go back to what was saved aside.
 */
export async function restoreLabSnapshot(ctx: LabContext, vms: string[], snap: string) {
  checkVms(ctx, vms);
  validateSnapshotName(snap);
  for (const vm of vms) {
    const problem = restoreProblem(ctx, vm, snap, await find(ctx, vm, snap));
    if (problem) throw Object.assign(problem, { hint: `${problem.hint}; no VM was changed` });
  }
  const undo = `${UNDO_PREFIX}${randomBytes(4).toString("hex")}`;
  const paused = await pauseAll(ctx, vms);
  const asideDone: string[] = [];
  const restored: string[] = [];
  try {
    for (const vm of vms) {
      await save(ctx, vm, undo);
      asideDone.push(vm);
    }
    for (const vm of vms) {
      restored.push(vm);
      await restore(ctx, vm, snap);
    }
  } catch (err) {
    for (const vm of restored) await restore(ctx, vm, undo).catch(() => undefined);
    throw err;
  } finally {
    for (const vm of asideDone) await remove(ctx, vm, undo).catch(() => undefined);
    await resumeAll(ctx, paused);
  }
  ctx.events.emit("lab.snapshot.restored", { snapshot: snap, vms });
  return { snapshot: snap, vms: vms.map((vm) => ({ name: vm, memory: paused.includes(vm) })) };
}
