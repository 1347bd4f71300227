// A VM's state is observed, never stored: running means our qemu holds the pid file's pid.
import { statSync } from "node:fs";
import type { LabContext } from "../context.js";
import { isOurProcess, readPidFile } from "../host/proc.js";
import { formatPort } from "../net/ports.js";
import type { Identity, VmSpec } from "../state/ledger.js";
import { tapName } from "../state/names.js";

export type VmState = "running" | "stopped" | "crashed";

export interface VmStatus {
  name: string;
  role: string;
  state: VmState;
  mac?: string;
  ip?: string;
  network: string;
  image: string;
  memoryMiB: number;
  cpus: number;
  restart: string;
  configDrive: string;
  tap: string;
  /** Port forwards, HOST:GUEST/PROTO. */
  ports: string[];
  pid?: number;
  uptimeSeconds?: number;
  lastExit?: VmSpec["lastExit"];
}

export const qemuMarkers = (pidFile: string) => ["qemu-system", pidFile];

/** The pid of this VM's qemu, or undefined. A pid file naming another process does not count. */
export function runningPid(ctx: LabContext, name: string): number | undefined {
  const f = ctx.paths.vm(name);
  const pid = readPidFile(f.pid);
  return pid !== undefined && isOurProcess(pid, qemuMarkers(f.pid)) ? pid : undefined;
}

export function vmStatus(ctx: LabContext, spec: VmSpec, id: Identity | undefined): VmStatus {
  const pid = runningPid(ctx, spec.name);
  let uptimeSeconds: number | undefined;
  if (pid !== undefined) {
    try {
      uptimeSeconds = Math.round((Date.now() - statSync(ctx.paths.vm(spec.name).pid).mtimeMs) / 1000);
    } catch {}
  }
  const state: VmState = pid !== undefined ? "running" : spec.lastExit?.crashed ? "crashed" : "stopped";
  return {
    name: spec.name,
    role: spec.role,
    state,
    mac: id?.mac,
    ip: id?.ip,
    network: spec.network,
    image: spec.image,
    memoryMiB: spec.memoryMiB,
    cpus: spec.cpus,
    restart: spec.restart,
    configDrive: spec.configDrive,
    tap: tapName(spec.name),
    ports: (spec.ports ?? []).map(formatPort),
    pid,
    uptimeSeconds,
    lastExit: spec.lastExit,
  };
}
