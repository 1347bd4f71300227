// lab vm create|start|stop|restart|destroy|list|show|ip
import { readFile } from "node:fs/promises";
import type { VmCreateRequest, Vm as VmStatus } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import { UsageError } from "../../errors.js";
import { memorySizeMiB } from "../../vm/defaults.js";
import { type MissingOpts, missing } from "../missing.js";
import {
  type OutputOpts,
  outputFormat,
  printJson,
  printKeyValues,
  printListing,
  printTable,
  progressPrinter,
} from "../output.js";
import { type WaitOpts, withWait } from "../wait.js";

interface VmOpts extends OutputOpts {
  role?: string;
  image?: string;
  memory?: string;
  cpus?: string;
  net?: string;
  sshKey?: string[];
  ip?: string;
  start?: boolean;
  configDrive?: string;
  restart?: string;
  accel?: string;
  forget?: boolean;
  timeout?: string;
  publish?: string[];
}

function int(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** --memory takes MiB, or a size with M/G. */
function memoryMiB(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const mib = memorySizeMiB(value);
  if (mib === undefined)
    throw new UsageError(`--memory must be like 512, 512M or 2G, got ${JSON.stringify(value)}`);
  return mib;
}

async function readKeys(files: string[] = []): Promise<string[]> {
  return Promise.all(
    files.map((f) =>
      readFile(f, "utf8").catch(() => {
        throw new UsageError(`cannot read --ssh-key ${f}`, {
          hint: "pass the path of a public key, e.g. ~/.ssh/id_ed25519.pub",
        });
      }),
    ),
  );
}

function showStatus(s: VmStatus, headline?: string): void {
  if (headline) process.stdout.write(`${headline}\n`);
  printKeyValues([
    ["name", s.name],
    ["state", s.state],
    ["role", s.role],
    ["ip", s.ip],
    ["mac", s.mac],
    ["network", s.network],
    ["image", s.image],
    ["memory", `${s.memoryMiB} MiB`],
    ["cpus", s.cpus],
    ["restart", s.restart],
    ["config drive", s.configDrive],
    ["tap", s.tap],
    ["ports", s.ports?.length ? s.ports.join(", ") : undefined],
    ["pid", s.pid],
    ["uptime", uptime(s)],
  ]);
  if (s.lastExit) {
    process.stdout.write(`last exit: ${s.lastExit.at} code=${s.lastExit.code} signal=${s.lastExit.signal}\n`);
    if (s.lastExit.logTail)
      process.stdout.write(
        `${s.lastExit.logTail
          .split("\n")
          .map((l) => `  | ${l}`)
          .join("\n")}\n`,
      );
  }
}

export const vmCreateCommand = (name: string, opts: VmOpts & WaitOpts) =>
  withWait(name, opts, () => vmCreate(name, opts));

async function vmCreate(name: string, opts: VmOpts): Promise<void> {
  const body: VmCreateRequest = {
    name,
    role: opts.role ?? "",
    image: opts.image,
    memoryMiB: memoryMiB(opts.memory),
    cpus: int(opts.cpus, "--cpus"),
    network: opts.net,
    sshKeys: await readKeys(opts.sshKey),
    ip: opts.ip,
    noStart: opts.start === false,
    // Checked against the request's schema before anything is sent.
    configDrive: opts.configDrive as VmCreateRequest["configDrive"],
    restart: opts.restart as VmCreateRequest["restart"],
    accel: opts.accel as VmCreateRequest["accel"],
    publish: opts.publish,
  };
  const r = await labApi().vms.create(body, { onProgress: progressPrinter(!!opts.json) });
  if (opts.json) return printJson(r);
  showStatus(r.vm, r.changed ? `VM ${name} created` : `VM ${name} already exists, nothing changed`);
}

async function simple(
  verb: string,
  name: string,
  opts: VmOpts,
  body: { timeoutSeconds?: number } = {},
): Promise<void> {
  const vms = labApi().vms;
  const r = await (verb === "stop"
    ? vms.stop(name, body)
    : verb === "start"
      ? vms.start(name)
      : vms.restart(name));
  if (opts.json) return printJson(r);
  process.stdout.write(
    `VM ${name}: ${r.changed ? `${verb === "stop" ? "stopped" : `${verb}ed`}` : `already ${verb === "stop" ? "stopped" : "running"}`}\n`,
  );
}

export const vmStartCommand = (name: string, opts: VmOpts & WaitOpts) =>
  withWait(name, opts, () => simple("start", name, opts));
export const vmRestartCommand = (name: string, opts: VmOpts & WaitOpts) =>
  withWait(name, opts, () => simple("restart", name, opts), true);
export const vmStopCommand = (name: string, opts: VmOpts) =>
  simple("stop", name, opts, { timeoutSeconds: int(opts.timeout, "--timeout") });

export async function vmDestroyCommand(name: string, opts: VmOpts & MissingOpts): Promise<void> {
  const r = await labApi().vms.destroy(name, { forget: opts.forget });
  if (!r.removed && !r.forgotten) missing("VM", name, opts);
  if (opts.json) return printJson(r);
  const what = r.removed ? "destroyed" : "did not exist";
  process.stdout.write(
    `VM ${name}: ${what}${r.forgotten ? "; its MAC and IP are released" : r.removed ? " (MAC and IP kept for the name; --forget releases them)" : ""}\n`,
  );
}

const uptime = (s: VmStatus) => (s.uptimeSeconds === null ? null : `${s.uptimeSeconds}s`);

export async function vmListCommand(opts: VmOpts): Promise<void> {
  const list = await labApi().vms.list();
  printListing(list, outputFormat(opts), {
    name: (s) => s.name,
    table: (l) =>
      printTable(
        ["NAME", "ROLE", "STATE", "IP", "MAC", "IMAGE", "UPTIME"],
        l.map((s) => [s.name, s.role, s.state, s.ip, s.mac, s.image, uptime(s)]),
      ),
    wide: (l) =>
      printTable(
        [
          "NAME",
          "ROLE",
          "STATE",
          "IP",
          "MAC",
          "IMAGE",
          "UPTIME",
          "NETWORK",
          "MEMORY",
          "CPUS",
          "PID",
          "TAP",
          "RESTART",
        ],
        l.map((s) => [
          s.name,
          s.role,
          s.state,
          s.ip,
          s.mac,
          s.image,
          uptime(s),
          s.network,
          `${s.memoryMiB} MiB`,
          s.cpus,
          s.pid,
          s.tap,
          s.restart,
        ]),
      ),
  });
}

export async function vmShowCommand(name: string, opts: VmOpts): Promise<void> {
  const s = await labApi().vms.get(name);
  if (opts.json) return printJson(s);
  showStatus(s);
}

export async function vmIpCommand(name: string, opts: VmOpts): Promise<void> {
  const s = await labApi().vms.get(name);
  if (opts.json) return printJson({ name: s.name, ip: s.ip });
  process.stdout.write(`${s.ip}\n`);
}
