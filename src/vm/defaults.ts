// What a VM gets when its request leaves a size out: the one rule `vm create` applies and
// `lab up` compares against (so a machine created with the default is not seen as changed).

/** The busybox test guest boots in far less than a systemd guest needs. */
export function defaultMemoryMiB(guest: string | undefined): number {
  return guest === "lab-test" ? 256 : 1024;
}
