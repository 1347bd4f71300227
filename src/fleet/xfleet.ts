// fleet's scheduling rules, checked before anything is sent: fleet v1.0.0 accepts some invalid
// combinations and target states and then leaves the unit broken.
import { UsageError } from "../errors.js";
import { optionValues, type UnitOption } from "./unit-file.js";

export const TARGET_STATES = ["inactive", "loaded", "launched"] as const;
export type TargetState = (typeof TARGET_STATES)[number];

const KNOWN_KEYS = new Set(["MachineID", "MachineOf", "MachineMetadata", "Conflicts", "Global", "Replaces"]);
const DEPRECATED = new Map([
  ["X-ConditionMachineID", "MachineID"],
  ["X-ConditionMachineOf", "MachineOf"],
  ["X-ConditionMachineMetadata", "MachineMetadata"],
  ["X-Conflicts", "Conflicts"],
]);

export function validateTargetState(state: string): TargetState {
  if (!(TARGET_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`invalid target state ${JSON.stringify(state)}`, {
      hint: `use one of: ${TARGET_STATES.join(", ")}`,
    });
  }
  return state as TargetState;
}

const UNIT_TYPE = /\.(service|socket|timer|path|device|mount|automount|target|swap|slice|scope)$/;

/** Whether a file in a units directory is a unit at all (units/ also holds *.artifacts.yaml). */
export function isUnitFileName(name: string): boolean {
  return UNIT_TYPE.test(name);
}

/** Unit names fleet accepts: NAME.TYPE or a template NAME@.TYPE / instance NAME@INST.TYPE. */
export function validateUnitName(name: string): void {
  if (
    !/^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|timer|path|device|mount|automount|target|swap|slice|scope)$/.test(
      name,
    )
  ) {
    throw new UsageError(`invalid unit name ${JSON.stringify(name)}`, {
      hint: "e.g. web.service, web@.service, web@1.service",
    });
  }
}

export interface XFleetRules {
  global: boolean;
  machineId?: string;
  machineOf: string[];
  machineMetadata: { key: string; value: string }[];
  conflicts: string[];
  replaces: string[];
}

function parseBool(v: string, file: string): boolean {
  if (/^(true|yes|1|on)$/i.test(v)) return true;
  if (/^(false|no|0|off)$/i.test(v)) return false;
  throw new UsageError(`${file}: Global=${v} is not a boolean`);
}

export function checkXFleet(options: readonly UnitOption[], file: string): XFleetRules {
  const x = options.filter((o) => o.section === "X-Fleet");
  for (const o of x) {
    const replacement = DEPRECATED.get(o.name);
    if (replacement !== undefined)
      throw new UsageError(`${file}: [X-Fleet] ${o.name} is deprecated`, {
        hint: `use ${replacement}=`,
      });
    if (!KNOWN_KEYS.has(o.name)) {
      throw new UsageError(`${file}: unknown [X-Fleet] option ${o.name}`, {
        hint: `known options: ${[...KNOWN_KEYS].join(", ")}`,
      });
    }
  }
  const get = (name: string) =>
    optionValues(options, "X-Fleet", name).flatMap((v) => v.split(/\s+/).filter(Boolean));
  const globals = optionValues(options, "X-Fleet", "Global");
  const rules: XFleetRules = {
    global: globals.length > 0 && parseBool(globals[globals.length - 1]!, file),
    machineId: optionValues(options, "X-Fleet", "MachineID").pop(),
    machineOf: get("MachineOf"),
    machineMetadata: get("MachineMetadata").map((kv) => {
      const i = kv.indexOf("=");
      if (i <= 0) throw new UsageError(`${file}: MachineMetadata ${JSON.stringify(kv)} is not key=value`);
      return { key: kv.slice(0, i), value: kv.slice(i + 1) };
    }),
    conflicts: get("Conflicts"),
    replaces: get("Replaces"),
  };
  if (rules.global && (rules.machineId || rules.machineOf.length > 0 || rules.replaces.length > 0)) {
    throw new UsageError(`${file}: Global=true cannot be combined with MachineID, MachineOf or Replaces`, {
      hint: "a global unit runs on every machine; narrow it only with MachineMetadata (and Conflicts)",
    });
  }
  if (rules.machineId && rules.machineOf.length > 0) {
    throw new UsageError(`${file}: MachineID and MachineOf cannot be combined`);
  }
  // fleet expands %n, %N, %p and %i in [X-Fleet] for an instance (Documentation/unit-files-and-scheduling.md,
  // "systemd specifiers"): kube-apiserver@%i.service names a unit once expanded.
  for (const dep of [...rules.machineOf, ...rules.conflicts, ...rules.replaces]) {
    if (!dep.includes("*")) validateUnitName(dep.replace(/%[nNpi]/g, "x"));
  }
  return rules;
}
