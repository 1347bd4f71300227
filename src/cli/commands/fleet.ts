// lab fleet submit|load|start|stop|unload|destroy|cat|list-units|list-unit-files|list-machines
import path from "node:path";
import { labApi } from "../../client/api.js";
import { FleetApiError, UsageError } from "../../errors.js";
import { etcdContact, etcdMembers } from "../../etcd/members.js";
import { DEFAULT_FLEET_PORT, FleetClient } from "../../fleet/api.js";
import { assertEtcdV2 } from "../../fleet/etcd-v2.js";
import { FLANNEL_KEY, readFlannelConfig, writeFlannelConfig } from "../../fleet/flannel-key.js";
import { destroyUnits, listUnits, setTargetState } from "../../fleet/ops.js";
import { FLANNEL_UNIT, planStart } from "../../fleet/prerequisites.js";
import { globToRegExp, type ResolvedUnit, resolveUnits } from "../../fleet/resolve-units.js";
import { DEFAULT_RETRY, type RetryPolicy, ttyRetryNotice } from "../../fleet/retry.js";
import { serializeUnitFile } from "../../fleet/unit-file.js";
import type { TargetState } from "../../fleet/xfleet.js";
import { ClusterSchema } from "../../lab/file/schema.js";
import { flannelConfig } from "../../lab/plan/plan-fleet.js";
import { repoRoot } from "../../state/repo.js";
import { printJson, printTable } from "../output.js";

interface FleetOpts {
  endpoint?: string;
  retryFor?: string;
  unitsDir?: string;
  replace?: boolean;
  block?: boolean;
  blockAttempts?: string;
  timeout?: string;
  json?: boolean;
}

/** --endpoint, then FLEETCTL_ENDPOINT, then the fleet API of the lab's etcd machine. */
export async function fleetEndpoint(opts: FleetOpts): Promise<string> {
  const given = opts.endpoint ?? process.env.FLEETCTL_ENDPOINT;
  if (given) return given;
  const vms = await labApi().vms.list();
  const etcd = etcdContact(etcdMembers(vms));
  if (!etcd?.ip) {
    throw new UsageError("no etcd machine in this lab to reach fleet through", {
      hint: "create one ('lab vm create etcd --role etcd'), or pass --endpoint http://IP:49153",
    });
  }
  // fleet there keeps everything in etcd's v2 API: an etcd without it is reported now, not as a timeout.
  await assertEtcdV2(etcd.ip);
  return `http://${etcd.ip}:${DEFAULT_FLEET_PORT}`;
}

/** --retry-for; else as long as the command waits anyway (--timeout), at least DEFAULT_RETRY's bound. */
function retryPolicy(opts: FleetOpts, waitMs = 0): RetryPolicy {
  if (opts.retryFor === undefined) return { ...DEFAULT_RETRY, forMs: Math.max(DEFAULT_RETRY.forMs, waitMs) };
  const seconds = Number(opts.retryFor);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new UsageError("--retry-for must be a number of seconds (0: no retries)");
  return { ...DEFAULT_RETRY, forMs: seconds * 1000 };
}

const client = async (opts: FleetOpts, waitMs?: number) =>
  new FleetClient(await fleetEndpoint(opts), {
    retry: retryPolicy(opts, waitMs),
    deadline: waitMs ? Date.now() + waitMs : undefined,
    onRetry: ttyRetryNotice(process.stderr),
  });
const unitsDir = (opts: FleetOpts) => path.resolve(opts.unitsDir ?? path.join(repoRoot(), "units"));

function waitOptions(opts: FleetOpts) {
  const attempts = opts.blockAttempts === undefined ? 0 : Number(opts.blockAttempts);
  const timeout = opts.timeout === undefined ? 300 : Number(opts.timeout);
  if (!Number.isInteger(attempts) || attempts < 0)
    throw new UsageError("--block-attempts must be a whole number");
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError("--timeout must be a positive number of seconds");
  return {
    block: opts.block !== false,
    blockAttempts: attempts,
    timeoutMs: timeout * 1000,
    onProgress: opts.json ? undefined : (m: string) => process.stdout.write(`${m}\n`),
  };
}

async function toState(units: string[], opts: FleetOpts, state: TargetState, verb: string): Promise<void> {
  const resolved = await resolveUnits(units, unitsDir(opts));
  const wait = waitOptions(opts);
  const fleet = await client(opts, wait.block ? wait.timeoutMs : 0);
  let started = resolved;
  if (state === "launched") started = await startPrerequisites(fleet, resolved, opts);
  try {
    await setTargetState(fleet, started, state, !!opts.replace, wait);
  } catch (err) {
    // A unit that failed on its machine: show what systemd logged there, then the error.
    const unit = (err as FleetApiError).details?.unit;
    if (err instanceof FleetApiError && typeof unit === "string" && !opts.json) {
      process.stderr.write(`last journal lines of ${unit}:\n`);
      await fleetJournalCommand(unit, { ...opts, lines: "10" }).catch(() => undefined);
    }
    throw err;
  }
  if (opts.json) printJson({ units: resolved.map((u) => u.name), state });
  else if (opts.block === false || state === "inactive")
    for (const u of started) process.stdout.write(`${u.name}: ${verb}\n`);
}

/**
 * Before kube-* units start: flannel's network config in etcd (the lab's defaults, as lab.yaml's
 * cluster section has them) when none is there, and flanneld.service started first. Returns the
 * units still to start.
 */
async function startPrerequisites(fleet: FleetClient, selected: ResolvedUnit[], opts: FleetOpts) {
  const dir = unitsDir(opts);
  const flannel = await resolveUnits([FLANNEL_UNIT], dir).then(
    ([u]) => u,
    () => undefined,
  );
  const plan = planStart(selected, flannel);
  const say = (line: string) => (opts.json ? undefined : process.stdout.write(`${line}\n`));
  if (plan.needsFlannelConfig) {
    const etcdIp = new URL(await fleetEndpoint(opts)).hostname;
    if ((await readFlannelConfig(etcdIp)) === undefined) {
      const cluster = ClusterSchema.parse({});
      const config = flannelConfig(cluster.podNetwork, cluster.podSubnetLength);
      await writeFlannelConfig(etcdIp, config);
      say(
        `flannel: no network config in etcd; set ${config.Network} (/${config.SubnetLen} per node, ${config.Backend.Type}) at ${FLANNEL_KEY} on ${etcdIp}`,
      );
    }
  }
  for (const a of plan.added) say(`${a.name}: added (${a.wantedBy} wants it), started first`);
  if (plan.first.length > 0)
    await setTargetState(fleet, plan.first, "launched", !!opts.replace, waitOptions(opts));
  return plan.rest;
}

export const fleetSubmitCommand = (units: string[], opts: FleetOpts) =>
  toState(units, opts, "inactive", "submitted");
export const fleetLoadCommand = (units: string[], opts: FleetOpts) =>
  toState(units, opts, "loaded", "loaded");
export const fleetStartCommand = (units: string[], opts: FleetOpts) =>
  toState(units, opts, "launched", "launched");

/** stop/unload/destroy name units fleet already has: names or globs over fleet's unit list. */
async function existingNames(fleet: FleetClient, args: string[]): Promise<string[]> {
  const names = (await fleet.units()).map((u) => u.name);
  const out = new Set<string>();
  for (const a of args) {
    const matches = /[*?]/.test(a) ? names.filter((n) => globToRegExp(a).test(n)) : [path.basename(a)];
    if (matches.length === 0)
      throw new UsageError(`no unit in fleet matches ${a}`, { hint: "see 'lab fleet list-unit-files'" });
    for (const m of matches) out.add(m);
  }
  return [...out];
}

async function changeExisting(args: string[], opts: FleetOpts, state: TargetState): Promise<void> {
  const fleet = await client(opts);
  const names = await existingNames(fleet, args);
  for (const n of names) await fleet.putUnit(n, state);
  if (opts.json) printJson({ units: names, state });
  else for (const n of names) process.stdout.write(`${n}: ${state}\n`);
}

export const fleetStopCommand = (units: string[], opts: FleetOpts) => changeExisting(units, opts, "loaded");
export const fleetUnloadCommand = (units: string[], opts: FleetOpts) =>
  changeExisting(units, opts, "inactive");

export async function fleetDestroyCommand(units: string[], opts: FleetOpts): Promise<void> {
  const fleet = await client(opts);
  const removed = await destroyUnits(fleet, await existingNames(fleet, units));
  if (opts.json) printJson({ destroyed: removed });
  else for (const n of removed) process.stdout.write(`destroyed ${n}\n`);
}

export async function fleetCatCommand(unit: string, opts: FleetOpts): Promise<void> {
  const u = await (await client(opts)).unit(unit);
  if (!u) throw new UsageError(`fleet has no unit ${unit}`, { hint: "see 'lab fleet list-unit-files'" });
  process.stdout.write(serializeUnitFile(u.options));
}

export async function fleetListUnitsCommand(opts: FleetOpts): Promise<void> {
  const rows = await listUnits(await client(opts));
  if (opts.json) return printJson(rows);
  printTable(
    ["UNIT", "MACHINE", "ACTIVE", "SUB"],
    rows.map((r) => [r.unit, r.machine, r.active, r.sub]),
  );
}

export async function fleetListUnitFilesCommand(opts: FleetOpts): Promise<void> {
  const units = await (await client(opts)).units();
  if (opts.json) return printJson(units.map(({ options: _o, ...u }) => u));
  printTable(
    ["UNIT", "DSTATE", "STATE", "TARGET"],
    units.map((u) => [
      u.name,
      u.desiredState,
      u.currentState ?? "-",
      u.machineID ? u.machineID.slice(0, 8) : "-",
    ]),
  );
}

export async function fleetListMachinesCommand(opts: FleetOpts): Promise<void> {
  const machines = await (await client(opts)).machines();
  if (opts.json) return printJson(machines);
  printTable(
    ["MACHINE", "IP", "METADATA"],
    machines.map((m) => [
      `${m.id.slice(0, 8)}...`,
      m.primaryIP,
      Object.entries(m.metadata ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "-",
    ]),
  );
}

/** The lab VM a unit runs on, found through fleet's state and the machines' IPs. */
async function vmOfUnit(unit: string, opts: FleetOpts): Promise<string> {
  const fleet = await client(opts);
  const [states, machines] = await Promise.all([fleet.state(unit), fleet.machines()]);
  const state = states[0];
  if (!state) throw new UsageError(`${unit} runs on no machine`, { hint: "see 'lab fleet list-units'" });
  const ip = machines.find((m) => m.id === state.machineID)?.primaryIP;
  const vms = await labApi().vms.list();
  const vm = vms.find((v) => v.ip === ip);
  if (!vm) throw new UsageError(`${unit} runs on ${ip ?? state.machineID}, which is not a VM of this lab`);
  return vm.name;
}

export async function fleetStatusCommand(unit: string, opts: FleetOpts): Promise<void> {
  const { runOnVm } = await import("./ssh.js");
  process.exitCode = await runOnVm(await vmOfUnit(unit, opts), [
    "systemctl",
    "status",
    "--no-pager",
    "-l",
    unit,
  ]);
}

export async function fleetJournalCommand(
  unit: string,
  opts: FleetOpts & { follow?: boolean; lines?: string },
): Promise<void> {
  const { runOnVm } = await import("./ssh.js");
  const lines = opts.lines ?? "10";
  if (!/^\d+$/.test(lines)) throw new UsageError("--lines must be a whole number");
  const args = ["journalctl", "--no-pager", "-u", unit, "-n", lines, ...(opts.follow ? ["-f"] : [])];
  process.exitCode = await runOnVm(await vmOfUnit(unit, opts), ["sudo", ...args]);
}
