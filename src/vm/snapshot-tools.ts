// The tools under VM snapshots, each as pure argv/parse plus a thin call: qemu-img for a stopped
// VM's overlay (and for listing: `-U` reads an overlay that a running qemu holds), and the human
// monitor's savevm/loadvm/delvm over QMP for a running one (qemu 7.2 has these as HMP commands;
// its job-based snapshot-save exists too, but HMP keeps one synchronous call per VM).
import type { LabContext } from "../context.js";
import { HostToolError } from "../errors.js";
import { qmpCommand } from "./qmp.js";

export interface SnapshotInfo {
  name: string;
  /** Bytes of saved memory: 0 for a disk-only snapshot (taken while the VM was stopped). */
  vmStateBytes: number;
  /** When it was taken (ISO 8601). */
  date: string;
}

export const snapshotListArgv = (disk: string) => ["qemu-img", "info", "-U", "--output=json", disk];
export const snapshotArgv = (op: "create" | "apply" | "delete", snap: string, disk: string) => [
  "qemu-img",
  "snapshot",
  { create: "-c", apply: "-a", delete: "-d" }[op],
  snap,
  disk,
];

/** The snapshots in `qemu-img info --output=json` (the "snapshots" array; absent when none). */
export function parseSnapshots(json: string): SnapshotInfo[] {
  const data = JSON.parse(json) as { snapshots?: Record<string, unknown>[] };
  return (data.snapshots ?? []).map((s) => ({
    name: String(s.name),
    vmStateBytes: Number(s["vm-state-size"] ?? 0),
    date: new Date(Number(s["date-sec"] ?? 0) * 1000).toISOString(),
  }));
}

export async function listDiskSnapshots(ctx: LabContext, vm: string): Promise<SnapshotInfo[]> {
  const r = await ctx.host.run(snapshotListArgv(ctx.paths.vm(vm).disk), { timeoutMs: 30_000 });
  return parseSnapshots(r.stdout);
}

export async function diskSnapshot(
  ctx: LabContext,
  op: "create" | "apply" | "delete",
  vm: string,
  snap: string,
): Promise<void> {
  await ctx.host.run(snapshotArgv(op, snap, ctx.paths.vm(vm).disk), { timeoutMs: 300_000 });
}

/** Runs an HMP command; HMP reports failure as text in its reply, not as a QMP error. */
export async function monitor(ctx: LabContext, vm: string, commandLine: string): Promise<void> {
  const out = await qmpCommand(
    ctx.paths.vm(vm).qmp,
    "human-monitor-command",
    { "command-line": commandLine },
    300_000,
  );
  const text = typeof out === "string" ? out.trim() : "";
  if (text !== "")
    throw new HostToolError(["qmp", "human-monitor-command", commandLine], undefined, text, {
      hint: `VM ${vm}: qemu refused '${commandLine}'`,
    });
}

/** Pauses (QMP stop) or resumes (cont) the guest's CPUs. */
export const pauseVm = (ctx: LabContext, vm: string) => qmpCommand(ctx.paths.vm(vm).qmp, "stop");
export const resumeVm = (ctx: LabContext, vm: string) => qmpCommand(ctx.paths.vm(vm).qmp, "cont");
