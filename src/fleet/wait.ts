// fleetctl's waiting, shared by `lab fleet start|load` and `lab up`: a unit is done when fleet
// launched it and systemd says active on every machine it belongs on (each machine a Global unit
// targets, the one fleet scheduled any other unit to, MachineOf and MachineMetadata included) in
// checks that span `settleMs`: a service that exits at once is "active" for a moment (systemd
// reports a simple service active from the fork; fleet publishes what it last saw), and a single
// check can land in that moment. Upstream fleetctl takes the first active check; lab does not.
import { FleetApiError } from "../errors.js";
import type { FleetClient, FleetMachine, FleetUnit, FleetUnitState } from "./api.js";
import { pause } from "./retry.js";
import type { TargetState } from "./xfleet.js";

export interface WaitOptions {
  block: boolean;
  /** Checks before giving up; 0 = until the timeout. */
  blockAttempts: number;
  timeoutMs: number;
  /** A unit reached its target; `on` are the addresses of the machines it runs on. */
  onProgress?: (message: string, unit: { name: string; on: string[] }) => void;
  /** Where a pending unit stands, after each check (for a live view; `lab fleet` leaves it out). */
  onPending?: (name: string, status: string) => void;
  signal?: AbortSignal;
  /** Between checks; 1 s unless given. */
  intervalMs?: number;
  /** How long a launched unit must stay active, in consecutive checks, to count; SETTLE_MS unless given. */
  settleMs?: number;
}

/** Long enough for fleet to publish a unit that failed right after it started (seen at 2 s under load). */
export const SETTLE_MS = 5000;

/** What one check reads: fleet's units, per-machine unit states and machines. */
export interface FleetSnapshot {
  units: FleetUnit[];
  states: FleetUnitState[];
  machines: FleetMachine[];
}

type Reader = Pick<FleetClient, "units" | "state" | "machines" | "base">;

/**
 * Concurrent waits on one fleet (one per unit in `lab up`) share a check: a read younger than
 * `fresh` ms (most of a wait's interval), or one still under way, is reused instead of asking a
 * loaded etcd machine again.
 */
const recent = new Map<string, { at: number; read: Promise<FleetSnapshot> }>();

export function readSnapshot(fleet: Reader, fresh: number): Promise<FleetSnapshot> {
  const hit = recent.get(fleet.base);
  if (hit && Date.now() - hit.at < fresh) return hit.read;
  const read = Promise.all([fleet.units(), fleet.state(), fleet.machines()]).then(
    ([units, states, machines]) => ({ units, states, machines }),
  );
  const entry = { at: Date.now(), read };
  recent.set(fleet.base, entry);
  // A failed read is not reused: the next check asks again.
  read.catch(() => {
    if (recent.get(fleet.base) === entry) recent.delete(fleet.base);
  });
  return read;
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

/** Where a unit that has not reached its target stands, in a few words. */
export function pendingStatus(
  unit: FleetUnit | undefined,
  states: FleetUnitState[],
  targets: Set<string> | undefined,
): string {
  if (!unit) return "not in fleet yet";
  if (targets !== undefined) {
    const active = [...targets].filter(
      (id) => states.find((s) => s.machineID === id)?.systemdActiveState === "active",
    ).length;
    if (targets.size === 0) return "no machine matches it yet";
    return `active on ${active}/${targets.size} machine(s)`;
  }
  const s = states[0];
  if (!s) return `${unit.currentState ?? "inactive"} in fleet, not on a machine yet`;
  return `on ${s.machineID.slice(0, 8)}: ${s.systemdActiveState}/${s.systemdSubState}`;
}

/** Waits until every named unit reached `target`; a unit systemd reports failed ends it at once. */
export async function waitFor(
  fleet: Reader,
  names: string[],
  target: TargetState,
  wait: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  const pending = new Set(names);
  const seen = new Map<string, Set<string>>();
  const where = new Map<string, string>();
  const activeSince = new Map<string, number>();
  /** The machine each unit was last seen on, so a timeout can point at its journal. */
  const lastOn = new Map<string, string>();
  const settle = wait.settleMs ?? SETTLE_MS;
  for (let attempt = 1; pending.size > 0; attempt++) {
    wait.signal?.throwIfAborted();
    const { units, states, machines } = await readSnapshot(fleet, (wait.intervalMs ?? 1000) * 0.9);
    for (const name of [...pending]) {
      const mine = states.filter((s) => s.name === name);
      if (mine.length === 1) lastOn.set(name, mine[0]!.machineID);
      const failed = mine.find((s) => s.systemdActiveState === "failed");
      if (failed) throw unitFailed(name, failed);
      const unit = units.find((u) => u.name === name);
      const now = unit ? globalTargets(unit, machines) : undefined;
      if (now !== undefined) {
        const targets = seen.get(name) ?? new Set<string>();
        for (const id of now) targets.add(id);
        seen.set(name, targets);
      }
      const now0 = Date.now();
      const ok = reached(unit, mine, target, seen.get(name));
      if (!ok) activeSince.delete(name);
      else if (!activeSince.has(name)) activeSince.set(name, now0);
      // With a bounded number of checks (--block-attempts) the last one takes what it sees, as fleetctl does.
      const lastCheck = wait.blockAttempts > 0 && attempt >= wait.blockAttempts;
      const settling = ok && target === "launched" && !lastCheck && now0 - activeSince.get(name)! < settle;
      if (ok && !settling) {
        pending.delete(name);
        const on = mine.map((s) => machines.find((m) => m.id === s.machineID)?.primaryIP ?? s.machineID);
        wait.onProgress?.(
          `${name}: ${target}${target === "launched" ? ` (active on ${mine.length} machine(s))` : ""}`,
          { name, on },
        );
      } else {
        const stand = pendingStatus(unit, mine, seen.get(name));
        where.set(
          name,
          settling ? `${stand}; checking it stays up for ${Math.round(settle / 1000)} s` : stand,
        );
        wait.onPending?.(name, where.get(name)!);
      }
    }
    if (pending.size === 0) return;
    if ((wait.blockAttempts > 0 && attempt >= wait.blockAttempts) || Date.now() > deadline) {
      const stand = [...pending].map((n) => `${n}: ${where.get(n) ?? "?"}`).join("; ");
      // One unit on one machine: its machine goes along, so the caller can show that unit's journal.
      const only = pending.size === 1 ? lastOn.get([...pending][0]!) : undefined;
      throw new FleetApiError(`timed out waiting for ${[...pending].join(", ")} to be ${target} (${stand})`, {
        hint: "see 'lab fleet list-units' and 'lab fleet journal UNIT'",
        details: { pending: [...pending], ...(only ? { machineID: only } : {}) },
      });
    }
    await pause(wait.intervalMs ?? 1000, wait.signal);
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
