// The pure parts of `lab exec` and `lab cp`: a command's argv quoted for the remote login shell
// (ssh joins its arguments with spaces, so an argument with a space would otherwise split), and
// scp's command line with the same key and known_hosts rules as `lab vm ssh`.
import { UsageError } from "../errors.js";
import { sshArgv } from "./argv.js";
import type { SshTarget } from "./target.js";

/** One argument for a POSIX shell: kept bare when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const remoteCommand = (argv: readonly string[]): string => argv.map(shellQuote).join(" ");

/** One side of `lab cp`: "NAME:PATH" is on a VM, anything else is a local path. */
export type CopyEnd = { vm: string; path: string } | { local: string };

export function parseCopyEnd(arg: string): CopyEnd {
  // A local path that holds ':' must start with './' or '/', as with scp.
  const m = /^([a-z0-9][a-z0-9-]*):(.*)$/.exec(arg);
  if (!m || arg.startsWith("/") || arg.startsWith("./")) return { local: arg };
  if (m[2] === "") throw new UsageError(`no path after ${m[1]}: in ${JSON.stringify(arg)}`);
  return { vm: m[1]!, path: m[2]! };
}

/** The VM the copy talks to, or a usage error when neither or both ends are on a VM. */
export function copyVm(from: CopyEnd, to: CopyEnd): string {
  if ("vm" in from && "vm" in to)
    throw new UsageError("lab cp copies between this host and one VM, not between two VMs", {
      hint: "copy to this host first, then on",
    });
  if ("vm" in from) return from.vm;
  if ("vm" in to) return to.vm;
  throw new UsageError("neither side of lab cp names a VM", {
    hint: "write the VM's side as NAME:PATH, e.g. lab cp node1:/etc/hostname .",
  });
}

/** scp's argv: the ssh options of `lab vm ssh`, then source and destination. */
export function scpArgv(
  t: SshTarget,
  from: CopyEnd,
  to: CopyEnd,
  opts: { user?: string; acceptNew?: boolean; recursive?: boolean } = {},
): string[] {
  const ssh = sshArgv(t, { user: opts.user, acceptNew: opts.acceptNew });
  // sshArgv ends with "--", "user@ip": keep its options, then scp's own file operands.
  const options = ssh.slice(1, ssh.indexOf("--"));
  const user = ssh[ssh.length - 1]!.split("@")[0]!;
  const side = (e: CopyEnd) => ("vm" in e ? `${user}@${t.ip}:${e.path}` : e.local);
  return ["scp", ...(opts.recursive ? ["-r"] : []), ...options, "--", side(from), side(to)];
}
