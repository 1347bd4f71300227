// The exit codes of `lab`, one table for `lab help exit-codes` and the README. Each code comes from
// the error classes in src/errors.ts (their exitCode), plus the two that are not errors.

export const EXIT_CODES: readonly [code: number, meaning: string][] = [
  [0, "success"],
  [1, "not ready: a wait (--wait, lab up's readiness) timed out"],
  [2, "usage: unknown command or option, missing or bad argument (at every level)"],
  [3, "not found: no such VM, image, mirror entry or network; 'daemon status': labd is not running"],
  [4, "conflict: exists with other settings (the error names each field), in use, or busy"],
  [5, "a host tool (ip, ovs-vsctl, iptables, qemu-img, ...) or a download failed"],
  [6, "a required program is not installed"],
  [7, "permission: labd needs root, or the socket is not yours"],
  [8, "fleet's or etcd's API answered with an error"],
  [69, "labd is not running and could not be started"],
  [70, "internal error or broken state (a bug or a damaged file; rerun with --debug)"],
  [130, "interrupted (Ctrl-C)"],
];

export function exitCodesText(): string {
  const rows = EXIT_CODES.map(([c, m]) => `  ${String(c).padStart(3)}  ${m}`);
  return `Exit codes of lab:\n${rows.join("\n")}\n\nRemoving something that is not there ('vm destroy', 'image rm', 'mirror rm') is\nnot found (3) unless --ignore-missing; 'down' verbs ('lab down', 'net down') converge and\ntreat absent as done.\n`;
}

/** `lab help TOPIC` for topics that are not commands; undefined lets commander answer. */
export function helpTopic(argv: readonly string[]): string | undefined {
  if (argv[2] === "help" && argv[3] === "exit-codes") return exitCodesText();
  return undefined;
}
