// start / stop / destroy of a VM's qemu; start runs the steps of start-steps.ts.
import type { LabContext } from "../context.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { signalOurProcess, waitForExit } from "../host/proc.js";
import { reservationsFor } from "../net/network.js";
import { readText } from "../state/atomic.js";
import { validateVmName } from "../state/names.js";
import { runSteps } from "../state/steps.js";
import { removeVmFiles } from "./files.js";
import { removeVmPorts } from "./ports.js";
import { qmpCommand } from "./qmp.js";
import { type StartState, startSteps } from "./start-steps.js";
import { qemuMarkers, runningPid, type VmStatus, vmStatus } from "./status.js";
import { detachTap } from "./tap.js";

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

/** Starts the VM's qemu through the start steps. Already running: nothing changes. */
export async function startVm(
  ctx: LabContext,
  name: string,
): Promise<{ status: VmStatus; changed: boolean }> {
  const spec = getSpec(ctx, name);
  const ledger = ctx.ledger.read();
  const id = ledger.identities[name]!;
  if (runningPid(ctx, name) !== undefined) return { status: vmStatus(ctx, spec, id), changed: false };
  const net = ledger.networks[spec.network];
  if (!net) {
    throw new ConflictError(`network ${spec.network} is not up`, {
      hint: `run 'lab net up ${spec.network}'`,
    });
  }
  const state: StartState = { ctx, spec, id, net, fresh: false };
  await runSteps(startSteps(), state);
  ctx.events.emit("vm.started", { vm: name, ip: id.ip, mac: id.mac, accel: state.accel });
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
