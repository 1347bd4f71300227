// fleetctl's verbs on top of the API client: submit, load, start, stop, unload, destroy, with
// fleetctl's waiting (a started unit is done when fleet launched it and systemd says active).
import { ConflictError, FleetApiError } from "../errors.js";
import type { FleetClient, FleetMachine, FleetUnit, FleetUnitState } from "./api.js";
import type { ResolvedUnit } from "./resolve-units.js";
import type { UnitOption } from "./unit-file.js";
import type { TargetState } from "./xfleet.js";

export interface WaitOptions {
  block: boolean;
  /** Checks before giving up; 0 = until the timeout. */
  blockAttempts: number;
  timeoutMs: number;
  onProgress?: (message: string) => void;
}

const sameOptions = (a: UnitOption[], b: UnitOption[]) =>
  a.length === b.length &&
  a.every((o, i) => o.section === b[i]!.section && o.name === b[i]!.name && o.value === b[i]!.value);

/** Makes sure fleet has the unit with exactly these options; a different one needs `replace`. */
export async function ensureSubmitted(
  fleet: FleetClient,
  unit: ResolvedUnit,
  replace: boolean,
): Promise<"created" | "same" | "replaced"> {
  const existing = await fleet.unit(unit.name);
  if (existing && sameOptions(existing.options, unit.options)) return "same";
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

/** Machines a global unit should run on (all, or those whose metadata match its MachineMetadata); undefined for other units. */
function globalTargets(unit: FleetUnit, machines: FleetMachine[]): string[] | undefined {
  const opts = unit.options.filter((o) => o.section === "X-Fleet");
  if (!opts.some((o) => o.name === "Global" && /^(true|yes|1|on)$/i.test(o.value))) return undefined;
  const wanted = opts
    .filter((o) => o.name === "MachineMetadata")
    .flatMap((o) => o.value.split(/\s+/))
    .map((kv) => kv.split("=") as [string, string]);
  return machines.filter((m) => wanted.every(([k, v]) => m.metadata?.[k] === v)).map((m) => m.id);
}

/**
 * Whether a unit reached its target. A global unit has no current state of its own, only one per
 * machine in /state; `targets` holds every matching machine seen while waiting, so a machine whose
 * fleet lease lapses for a moment (a loaded TCG guest) cannot make the unit look done early.
 */
function reached(
  unit: FleetUnit | undefined,
  states: FleetUnitState[],
  target: TargetState,
  targets: Set<string> | undefined,
): boolean {
  if (!unit) return false;
  if (targets === undefined) {
    if (unit.currentState !== target) return false;
    if (target !== "launched") return true;
    return states.length > 0 && states.every((s) => s.systemdActiveState === "active");
  }
  if (targets.size === 0) return false;
  const on = (id: string) => states.find((s) => s.machineID === id);
  if (target !== "launched") return [...targets].every((id) => on(id) !== undefined);
  return [...targets].every((id) => on(id)?.systemdActiveState === "active");
}

async function waitFor(
  fleet: FleetClient,
  names: string[],
  target: TargetState,
  wait: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  const pending = new Set(names);
  const seen = new Map<string, Set<string>>();
  for (let attempt = 1; pending.size > 0; attempt++) {
    const [units, states, machines] = await Promise.all([fleet.units(), fleet.state(), fleet.machines()]);
    for (const name of [...pending]) {
      const mine = states.filter((s) => s.name === name);
      const failed = mine.find((s) => s.systemdActiveState === "failed");
      if (failed) throw unitFailed(name, failed);
      const unit = units.find((u) => u.name === name);
      const now = unit ? globalTargets(unit, machines) : undefined;
      if (now !== undefined) {
        const targets = seen.get(name) ?? new Set<string>();
        for (const id of now) targets.add(id);
        seen.set(name, targets);
      }
      if (reached(unit, mine, target, seen.get(name))) {
        pending.delete(name);
        wait.onProgress?.(
          `${name}: ${target}${target === "launched" ? ` (active on ${mine.length} machine(s))` : ""}`,
        );
      }
    }
    if (pending.size === 0) return;
    if ((wait.blockAttempts > 0 && attempt >= wait.blockAttempts) || Date.now() > deadline) {
      throw new FleetApiError(`timed out waiting for ${[...pending].join(", ")} to be ${target}`, {
        hint: "see 'lab fleet list-units' and 'lab fleet journal UNIT'; --no-block returns at once",
        details: { pending: [...pending] },
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function unitFailed(name: string, s: FleetUnitState): FleetApiError {
  return new FleetApiError(
    `${name} failed on machine ${s.machineID.slice(0, 8)} (${s.systemdLoadState}/${s.systemdActiveState}/${s.systemdSubState})`,
    {
      hint: `see 'lab fleet journal ${name}'`,
      details: { unit: name, machineID: s.machineID },
    },
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
