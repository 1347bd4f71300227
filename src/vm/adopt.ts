// At daemon start: re-adopt every VM whose qemu still runs, put its tap back on the bridge if the
// port went missing, and record the ones that died while no daemon watched as crashed.

import type { LabContext } from "../context.js";
import { linkAlias, listLinkNames } from "../host/ip.js";
import { addPortArgv } from "../host/ovs.js";
import { bridgePorts } from "../net/network.js";
import { HASHED_TAP_PREFIX, TAP_PREFIX, tapName } from "../state/names.js";
import { serialTail } from "./lifecycle.js";
import { qmpCommand } from "./qmp.js";
import { runningPid } from "./status.js";
import { findStrays, handleStrays } from "./strays.js";
import type { VmSupervisor } from "./supervisor.js";
import { detachTap, tapOwner } from "./tap.js";

/** Taps of VMs that neither the ledger nor a VM directory names: left by a crash mid-destroy.
 * detachTap removes only what lab's records say is a VM's tap, never a link by its name. */
async function removeLeftoverTaps(ctx: LabContext, known: Set<string>): Promise<void> {
  for (const link of await listLinkNames(ctx.host)) {
    let vm = link.startsWith(TAP_PREFIX) ? link.slice(TAP_PREFIX.length) : undefined;
    // A hashed tap (long VM name) names its VM only in its alias; detachTap still checks it.
    if (link.startsWith(HASHED_TAP_PREFIX)) vm = (await linkAlias(ctx.host, link))?.replace(/^lab-vm:/, "");
    if (vm && tapName(vm) === link && !known.has(vm)) await detachTap(ctx, vm);
  }
}

export async function adoptVms(
  ctx: LabContext,
  supervisor: VmSupervisor,
  log: (m: string) => void,
): Promise<void> {
  const ledger = ctx.ledger.read();
  const strays = await findStrays(ctx, ledger, ctx.ledger.existed);
  await handleStrays(ctx, strays, log);
  await removeLeftoverTaps(ctx, new Set([...Object.keys(ledger.vms), ...strays.map((s) => s.name)]));
  for (const spec of Object.values(ledger.vms)) {
    const pid = runningPid(ctx, spec.name);
    const net = ledger.networks[spec.network];
    if (pid !== undefined) {
      const answers = await qmpCommand(ctx.paths.vm(spec.name).qmp, "query-status", undefined, 2000).then(
        () => true,
        () => false,
      );
      supervisor.watch(spec.name, pid);
      const tap = tapName(spec.name);
      if (
        net &&
        (await tapOwner(ctx, spec.name)) === "ours" &&
        !(await bridgePorts(ctx, net.bridge)).includes(tap)
      ) {
        await ctx.host.run(addPortArgv(ctx.ovs.describe().dbSock, net.bridge, tap, spec.name));
      }
      ctx.events.emit("vm.adopted", { vm: spec.name, pid, qmp: answers });
      if (!spec.wantRunning) log(`VM ${spec.name} runs although it was stopped; left running`);
      continue;
    }
    if (!spec.wantRunning) continue;
    const logTail = await serialTail(ctx, spec.name);
    await ctx.ledger.update((l) => {
      const v = l.vms[spec.name];
      if (v) v.lastExit = { at: new Date().toISOString(), code: null, signal: null, crashed: true, logTail };
    });
    ctx.events.emit("vm.crashed", { vm: spec.name, while: "daemon was down" });
    if (spec.restart !== "no") supervisor.restartLater(spec.name);
  }
}
