// lab vm snapshot save|restore|list|rm NAME SNAP, and lab snapshot save|restore SNAP -f FILE.
import os from "node:os";
import { LabClient } from "../../client/client.js";
import { desiredLab } from "../../lab/file/desired.js";
import { DEFAULT_LAB_FILE, loadLabFile } from "../../lab/file/load.js";
import type { SnapshotInfo } from "../../vm/snapshot-tools.js";
import { printJson, printTable } from "../output.js";

interface Opts {
  json?: boolean;
  file?: string;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const path = (vm: string, suffix = "") => `/v1/vms/${encodeURIComponent(vm)}/snapshots${suffix}`;
const what = (memory: boolean) => (memory ? "disk and memory" : "disk only");

export async function vmSnapshotSaveCommand(vm: string, snapshot: string, opts: Opts): Promise<void> {
  const r = await new LabClient().call<{ memory: boolean }>("POST", path(vm), { snapshot });
  if (opts.json) return printJson(r);
  out(`VM ${vm}: snapshot ${snapshot} saved (${what(r.memory)})`);
}

export async function vmSnapshotRestoreCommand(vm: string, snapshot: string, opts: Opts): Promise<void> {
  const r = await new LabClient().call<{ memory: boolean }>(
    "POST",
    path(vm, `/${encodeURIComponent(snapshot)}/restore`),
    {},
  );
  if (opts.json) return printJson(r);
  out(`VM ${vm}: back at snapshot ${snapshot} (${r.memory ? "running from its saved memory" : "disk"})`);
}

export async function vmSnapshotListCommand(vm: string, opts: Opts): Promise<void> {
  const list = await new LabClient().call<SnapshotInfo[]>("GET", path(vm));
  if (opts.json) return printJson(list);
  printTable(
    ["NAME", "MEMORY", "DATE"],
    list.map((s) => [
      s.name,
      s.vmStateBytes > 0 ? `${Math.ceil(s.vmStateBytes / 1048576)} MiB` : "-",
      s.date,
    ]),
  );
}

export async function vmSnapshotRmCommand(vm: string, snapshot: string, opts: Opts): Promise<void> {
  const r = await new LabClient().call<{ removed: boolean }>(
    "DELETE",
    path(vm, `/${encodeURIComponent(snapshot)}`),
  );
  if (opts.json) return printJson(r);
  out(`VM ${vm}: snapshot ${snapshot} ${r.removed ? "removed" : "did not exist"}`);
}

async function labVms(file: string | undefined): Promise<string[]> {
  const loaded = await loadLabFile(file ?? DEFAULT_LAB_FILE);
  return desiredLab(loaded.lab, loaded.file, os.homedir()).machines.map((m) => m.name);
}

type LabResult = { snapshot: string; vms: { name: string; memory: boolean }[] };

async function labSnapshot(verb: "save" | "restore", snapshot: string, opts: Opts): Promise<void> {
  const vms = await labVms(opts.file);
  const r = await new LabClient().call<LabResult>("POST", `/v1/snapshots/${verb}`, { snapshot, vms });
  if (opts.json) return printJson(r);
  for (const v of r.vms)
    out(`VM ${v.name}: ${verb === "save" ? "saved" : "restored"} ${snapshot} (${what(v.memory)})`);
}

export const labSnapshotSaveCommand = (snapshot: string, opts: Opts) => labSnapshot("save", snapshot, opts);
export const labSnapshotRestoreCommand = (snapshot: string, opts: Opts) =>
  labSnapshot("restore", snapshot, opts);
