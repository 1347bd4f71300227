// What a VM gets when its request leaves a size out: the one rule `vm create` applies and
// `lab up` compares against (so a machine created with the default is not seen as changed).

/** The busybox test guest boots in far less than a systemd guest needs. */
export function defaultMemoryMiB(guest: string | undefined): number {
  return guest === "lab-test" ? 256 : 1024;
}

/** A memory size as people write it, the one grammar of `--memory` and lab.yaml's `memory`. */
export const MEMORY_SIZE = /^(\d+)\s*([mMgG]?)(?:i?[bB])?$/;

/** `512` → 512 MiB; `512M`, `512MiB` → 512; `2G` → 2048. Undefined when it is not a size. */
export function memorySizeMiB(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const m = MEMORY_SIZE.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2]?.toLowerCase() === "g" ? 1024 : 1);
  return n > 0 ? n : undefined;
}
