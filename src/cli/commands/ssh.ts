// lab vm ssh NAME [-- CMD...]: ssh as 'core' with lab's key, host key checked against lab's known_hosts.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { labApi } from "../../client/api.js";
import { ConflictError, PermissionError } from "../../errors.js";
import { createHost } from "../../host/host.js";
import { sshArgv } from "../../ssh/argv.js";

interface SshOpts {
  user?: string;
  acceptNew?: boolean;
}

export async function vmSshCommand(name: string, command: string[], opts: SshOpts): Promise<void> {
  process.exitCode = await runOnVm(name, command, opts);
}

/** Runs `command` on the VM over ssh with the terminal attached; returns its exit code. */
export async function runOnVm(name: string, command: string[], opts: SshOpts = {}): Promise<number> {
  const target = await labApi().vms.ssh(name);
  if (target.hostKeys === 0 && !opts.acceptNew) {
    throw new ConflictError(`VM ${name} has not reported its ssh host key on its console yet`, {
      hint: `wait until it has booted ('lab vm logs ${name}' shows LAB-SSH-HOSTKEY lines), or pass --accept-new to trust the key it presents first`,
    });
  }
  await access(target.keyFile, constants.R_OK).catch(() => {
    throw new PermissionError(`cannot read lab's ssh key ${target.keyFile}`, {
      hint: "the key is readable by root only: run 'lab vm ssh' as root",
    });
  });
  const argv = sshArgv(target, { user: opts.user, acceptNew: opts.acceptNew, command });
  return createHost().exec(argv);
}
