// The short names people type: `lab rm`, `lab shell`, `lab exec NAME -- CMD`, `lab cp`.
// rm is `vm destroy`; the others run ssh/scp with lab's key, as `lab vm ssh` does.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { labApi } from "../../client/api.js";
import { ConflictError, PermissionError, UsageError } from "../../errors.js";
import { createHost } from "../../host/host.js";
import { copyVm, parseCopyEnd, remoteCommand, scpArgv } from "../../ssh/remote.js";
import { runOnVm } from "./ssh.js";
import { vmDestroyCommand } from "./vm.js";

interface SshOpts {
  user?: string;
  acceptNew?: boolean;
  recursive?: boolean;
  forget?: boolean;
  json?: boolean;
}

export async function rmCommand(names: string[], opts: SshOpts): Promise<void> {
  for (const name of names) await vmDestroyCommand(name, opts);
}

export async function shellCommand(name: string, opts: SshOpts): Promise<void> {
  process.exitCode = await runOnVm(name, [], opts);
}

export async function execCommand(name: string, command: string[], opts: SshOpts): Promise<void> {
  if (command.length === 0)
    throw new UsageError("lab exec needs a command", { hint: `e.g. lab exec ${name} -- uname -a` });
  // The remote shell splits what ssh sends: quote each argument so the command runs as given.
  process.exitCode = await runOnVm(name, [remoteCommand(command)], opts);
}

export async function cpCommand(source: string, dest: string, opts: SshOpts): Promise<void> {
  const from = parseCopyEnd(source);
  const to = parseCopyEnd(dest);
  const name = copyVm(from, to);
  const target = await labApi().vms.ssh(name);
  if (target.hostKeys === 0 && !opts.acceptNew) {
    throw new ConflictError(`VM ${name} has not reported its ssh host key on its console yet`, {
      hint: "wait until it has booted, or pass --accept-new to trust the key it presents first",
    });
  }
  await access(target.keyFile, constants.R_OK).catch(() => {
    throw new PermissionError(`cannot read lab's ssh key ${target.keyFile}`, {
      hint: "the key is readable by root only: run 'lab cp' as root",
    });
  });
  process.exitCode = await createHost().exec(scpArgv(target, from, to, opts));
}
