// A unit that failed under `lab up` is reported with the last lines of its journal, read over ssh
// from the VM fleet put it on (as `lab fleet journal` reads it). When ssh cannot be used (not
// root, no host key reported yet, no ssh) the report says why and keeps what fleet said.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { SshTarget } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { FleetApiError, toLabError } from "../../errors.js";
import { createHost, type Host, tail } from "../../host/host.js";
import { sshArgv } from "../../ssh/argv.js";
import type { FleetGate } from "./fleet-steps.js";

export const JOURNAL_LINES = 10;

export type JournalTail = { vm: string; lines: string } | { unavailable: string };

/** The command run on the machine: the unit's last lines, no pager. */
export const journalCommand = (unit: string, lines = JOURNAL_LINES) => [
  "sudo",
  "journalctl",
  "--no-pager",
  "-u",
  unit,
  "-n",
  String(lines),
];

/** ssh for a capture: never a prompt on the terminal (BatchMode), a bounded connect. */
export function capturedSshArgv(target: SshTarget, command: string[]): string[] {
  const argv = sshArgv(target, { command });
  return [argv[0]!, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", ...argv.slice(1)];
}

export async function readUnitJournal(
  deps: { client: LabClient; gate: FleetGate; host?: Host },
  unit: string,
  machineID: string,
): Promise<JournalTail> {
  try {
    const ip = (await deps.gate.machines()).find((m) => m.id === machineID)?.primaryIP;
    const vms = await labApi(deps.client).vms.list();
    const vm = vms.find((v) => ip !== undefined && v.ip === ip);
    if (!vm) return { unavailable: `machine ${ip ?? machineID.slice(0, 8)} is not a VM of this lab` };
    const target = await labApi(deps.client).vms.ssh(vm.name);
    if (target.hostKeys === 0) return { unavailable: `${vm.name} has not reported its ssh host key` };
    const readable = await access(target.keyFile, constants.R_OK).then(
      () => true,
      () => false,
    );
    if (!readable) return { unavailable: `lab's ssh key ${target.keyFile} is readable by root only` };
    const r = await (deps.host ?? createHost()).run(capturedSshArgv(target, journalCommand(unit)), {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0)
      return { unavailable: `ssh to ${vm.name} exited ${r.exitCode}: ${tail(r.stderr, 2).trim()}` };
    return { vm: vm.name, lines: r.stdout.trimEnd() };
  } catch (err) {
    return { unavailable: toLabError(err).message };
  }
}

/** The failed unit's error, with its journal's tail (or why there is none) in the message. */
export function withJournal(err: FleetApiError, unit: string, journal: JournalTail): FleetApiError {
  const shown =
    "lines" in journal
      ? `\nlast journal lines on ${journal.vm}:\n${journal.lines
          .split("\n")
          .map((l) => `  | ${l}`)
          .join("\n")}`
      : `; its journal could not be read (${journal.unavailable})`;
  return new FleetApiError(`${err.message}${shown}`, {
    hint: `'lab fleet journal ${unit} --lines 50' shows more; 'lab fleet status ${unit}' shows systemd's view`,
    details: { ...err.details, journal },
    cause: err,
  });
}
