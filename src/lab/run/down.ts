// `lab down`: removes what a lab file declares, in reverse: its fleet units (when fleet answers),
// its VMs (workers before etcd), then its networks. Absent things are fine; images are kept.
import os from "node:os";
import type { Vm as VmStatus } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { LabError, toLabError } from "../../errors.js";
import { etcdContact, etcdMembers } from "../../etcd/members.js";
import { desiredLab, orderForBoot } from "../file/desired.js";
import { loadLabFile } from "../file/load.js";
import { readUnitsDir } from "../file/units.js";
import { fleetUnits } from "../plan/api-servers.js";
import { type FleetGate, httpFleetGate } from "./fleet-steps.js";

export interface DownOutcome {
  kind: "unit" | "vm" | "network" | "fleet";
  name: string;
  result: "removed" | "absent" | "failed" | "skipped";
  message: string;
}

export interface DownOptions {
  forget: boolean;
  fleetGate?: (ip: string) => FleetGate;
  onOutcome?: (o: DownOutcome) => void;
}

async function removeUnits(
  names: string[],
  etcd: VmStatus | undefined,
  opts: DownOptions,
  out: { push(o: DownOutcome): void },
): Promise<void> {
  if (names.length === 0) return;
  if (!etcd?.ip || etcd.state !== "running") {
    out.push({
      kind: "fleet",
      name: "units",
      result: "skipped",
      message: "etcd machine not running: units left",
    });
    return;
  }
  const gate = (opts.fleetGate ?? httpFleetGate)(etcd.ip);
  let known: string[];
  try {
    known = (await gate.units()).map((u) => u.name);
  } catch (err) {
    const message = `fleet not reachable (${toLabError(err).message}): units left`;
    out.push({ kind: "fleet", name: "units", result: "skipped", message });
    return;
  }
  for (const name of names) {
    if (!known.includes(name)) {
      out.push({ kind: "unit", name, result: "absent", message: "not in fleet" });
      continue;
    }
    try {
      await gate.destroy(name);
      out.push({ kind: "unit", name, result: "removed", message: "destroyed in fleet" });
    } catch (err) {
      out.push({ kind: "unit", name, result: "failed", message: toLabError(err).message });
    }
  }
}

/** Removes the lab's resources; returns what happened to each. Failures do not stop the rest. */
export async function labDown(client: LabClient, file: string, opts: DownOptions): Promise<DownOutcome[]> {
  const loaded = await loadLabFile(file);
  const lab = desiredLab(loaded.lab, loaded.file, os.homedir());
  const outcomes: DownOutcome[] = [];
  const out = {
    push(o: DownOutcome) {
      outcomes.push(o);
      opts.onOutcome?.(o);
    },
  };
  const api = labApi(client);
  const vms = await api.vms.list();
  const etcd = etcdContact(etcdMembers(vms.filter((v) => lab.machines.some((m) => m.name === v.name))));
  const units = lab.unitGlobs.length > 0 ? fleetUnits(lab, await readUnitsDir(lab.unitsDir)) : [];
  await removeUnits(
    units.map((u) => u.name),
    etcd,
    opts,
    out,
  );
  for (const m of orderForBoot(lab.machines).reverse()) {
    try {
      const r = await api.vms.destroy(m.name, { forget: opts.forget });
      const released = r.forgotten ? "; MAC and IP released" : "";
      out.push({
        kind: "vm",
        name: m.name,
        result: r.removed ? "removed" : "absent",
        message: `${r.removed ? "destroyed" : "did not exist"}${released}`,
      });
    } catch (err) {
      out.push({ kind: "vm", name: m.name, result: "failed", message: toLabError(err).message });
    }
  }
  for (const n of lab.networks) {
    try {
      const r = await api.networks.down(n.name);
      out.push({
        kind: "network",
        name: n.name,
        result: r.removed ? "removed" : "absent",
        message: r.removed ? "removed" : "was not up",
      });
    } catch (err) {
      const e = toLabError(err);
      out.push({
        kind: "network",
        name: n.name,
        result: "failed",
        message: `${e.message}${e.hint ? ` (${e.hint})` : ""}`,
      });
    }
  }
  return outcomes;
}

export function downError(outcomes: DownOutcome[]): LabError | undefined {
  const failed = outcomes.filter((o) => o.result === "failed");
  if (failed.length === 0) return undefined;
  return new LabError(
    `lab down could not remove ${failed.map((f) => `${f.kind} ${f.name}`).join(", ")}: ${failed[0]!.message}`,
    { hint: "fix the cause and run 'lab down' again (what is already gone stays gone)" },
  );
}
