// fleetctl's verbs on top of the API client: submit, load, start, stop, unload, destroy, with
// fleetctl's waiting (wait.ts: a started unit is done when fleet launched it and systemd says active).
import { ConflictError } from "../errors.js";
import type { FleetClient } from "./api.js";
import type { ResolvedUnit } from "./resolve-units.js";
import { sameUnitOptions } from "./unit-file.js";
import { type WaitOptions, waitFor } from "./wait.js";
import type { TargetState } from "./xfleet.js";

export type { WaitOptions };

/** Makes sure fleet has the unit with exactly these options; a different one needs `replace`. */
export async function ensureSubmitted(
  fleet: FleetClient,
  unit: ResolvedUnit,
  replace: boolean,
): Promise<"created" | "same" | "replaced"> {
  const existing = await fleet.unit(unit.name);
  if (existing && sameUnitOptions(existing.options, unit.options)) return "same";
  if (existing && !replace) {
    throw new ConflictError(`unit ${unit.name} in fleet differs from ${unit.file}`, {
      hint: "pass --replace to replace it (fleet does not notice changed unit contents by itself)",
    });
  }
  const desired: TargetState = existing?.desiredState ?? "inactive";
  if (existing) await fleet.deleteUnit(unit.name);
  await fleet.putUnit(unit.name, desired, unit.options);
  return existing ? "replaced" : "created";
}

export async function setTargetState(
  fleet: FleetClient,
  units: ResolvedUnit[],
  state: TargetState,
  replace: boolean,
  wait: WaitOptions,
): Promise<void> {
  for (const u of units) {
    await ensureSubmitted(fleet, u, replace);
    await fleet.putUnit(u.name, state);
  }
  if (!wait.block || state === "inactive") return;
  await waitFor(
    fleet,
    units.map((u) => u.name),
    state,
    wait,
  );
}

export async function destroyUnits(fleet: FleetClient, names: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const n of names) if (await fleet.deleteUnit(n)) removed.push(n);
  return removed;
}

export interface UnitRow {
  unit: string;
  machine: string;
  active: string;
  sub: string;
}

export async function listUnits(fleet: FleetClient): Promise<UnitRow[]> {
  const [states, machines] = await Promise.all([fleet.state(), fleet.machines()]);
  const ip = new Map(machines.map((m) => [m.id, m.primaryIP]));
  return states
    .map((s) => ({
      unit: s.name,
      machine: `${s.machineID.slice(0, 8)}.../${ip.get(s.machineID) ?? "?"}`,
      active: s.systemdActiveState,
      sub: s.systemdSubState,
    }))
    .sort((a, b) => a.unit.localeCompare(b.unit) || a.machine.localeCompare(b.machine));
}
