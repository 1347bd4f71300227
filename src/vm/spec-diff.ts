// Which of the fields that make a VM "the same" differ between the one that exists and a request:
// named in the conflict error, so the user sees what to change instead of "another spec".
import type { VmSpec } from "../state/ledger.js";

const FIELDS: [keyof VmSpec, string][] = [
  ["role", "role"],
  ["image", "image"],
  ["memoryMiB", "memory (MiB)"],
  ["cpus", "cpus"],
  ["network", "network"],
];

/** "role etcd (asked: kubernetes)" for each differing field; [] when the specs match. */
export function specDifferences(existing: VmSpec, wanted: VmSpec): string[] {
  return FIELDS.filter(([k]) => existing[k] !== wanted[k]).map(
    ([k, label]) => `${label} ${String(existing[k])} (asked: ${String(wanted[k])})`,
  );
}
