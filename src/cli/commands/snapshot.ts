// lab vm snapshot save|restore|list|rm NAME SNAP, and lab snapshot save|restore SNAP -f FILE.
import os from "node:os";
import { labApi } from "../../client/api.js";
import { desiredLab } from "../../lab/file/desired.js";
import { DEFAULT_LAB_FILE, loadLabFile } from "../../lab/file/load.js";
import { printJson, printTable } from "../output.js";

interface Opts {
  json?: boolean;
  file?: string;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const what = (memory: boolean) => (memory ? "disk and memory" : "disk only");

export async function vmSnapshotSaveCommand(vm: string, snapshot: string, opts: Opts): Promise<void> {
  const r = await labApi().snapshots.save(vm, snapshot);
  if (opts.json) return printJson(r);
  out(`VM ${vm}: snapshot ${snapshot} saved (${what(r.memory)})`);
}

export async function vmSnapshotRestoreCommand(vm: string, snapshot: string, opts: Opts): Promise<void> {
  const r = await labApi().snapshots.restore(vm, snapshot);
  if (opts.json) return printJson(r);
  out(`VM ${vm}: back at snapshot ${snapshot} (${r.memory ? "running from its saved memory" : "disk"})`);
}

export async function vmSnapshotListCommand(vm: string, opts: Opts): Promise<void> {
  const list = await labApi().snapshots.list(vm);
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
  const r = await labApi().snapshots.remove(vm, snapshot);
  if (opts.json) return printJson(r);
  out(`VM ${vm}: snapshot ${snapshot} ${r.removed ? "removed" : "did not exist"}`);
}

async function labVms(file: string | undefined): Promise<string[]> {
  const loaded = await loadLabFile(file ?? DEFAULT_LAB_FILE);
  return desiredLab(loaded.lab, loaded.file, os.homedir()).machines.map((m) => m.name);
}

async function labSnapshot(verb: "save" | "restore", snapshot: string, opts: Opts): Promise<void> {
  const vms = await labVms(opts.file);
  const api = labApi().snapshots;
  const r = await (verb === "save" ? api.saveLab({ snapshot, vms }) : api.restoreLab({ snapshot, vms }));
  if (opts.json) return printJson(r);
  for (const v of r.vms)
    out(`VM ${v.name}: ${verb === "save" ? "saved" : "restored"} ${snapshot} (${what(v.memory)})`);
}

export const labSnapshotSaveCommand = (snapshot: string, opts: Opts) => labSnapshot("save", snapshot, opts);
export const labSnapshotRestoreCommand = (snapshot: string, opts: Opts) =>
  labSnapshot("restore", snapshot, opts);
