// The ssh command line of `lab vm ssh`: lab's key only, and host keys checked against lab's own
// known_hosts (never the user's), strictly unless --accept-new.
import { UsageError } from "../errors.js";
import type { SshTarget } from "./target.js";

export interface SshOptions {
  user?: string;
  acceptNew?: boolean;
  command?: readonly string[];
}

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function sshArgv(t: SshTarget, opts: SshOptions = {}): string[] {
  const user = opts.user ?? t.user;
  if (!USER.test(user)) throw new UsageError(`invalid --user ${JSON.stringify(user)}`);
  return [
    "ssh",
    "-i",
    t.keyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${t.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `StrictHostKeyChecking=${opts.acceptNew ? "accept-new" : "yes"}`,
    // "--" before the destination: ssh then reads nothing after it as its own option.
    "--",
    `${user}@${t.ip}`,
    ...(opts.command ?? []),
  ];
}
