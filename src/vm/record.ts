// Each VM directory's own record (vm.json): the VM's spec, identity and network as the ledger held
// them, written whenever that changes. It is what lets `lab recover` rebuild a lost ledger and
// what tells a stray VM directory (not in the ledger) apart from one the ledger let go.
import { readdir } from "node:fs/promises";
import { z } from "zod";
import { readText, writeIfChanged } from "../state/atomic.js";
import { Identity, type Ledger, NetworkSpec, VmSpec } from "../state/ledger.js";
import type { LabPaths } from "../state/paths.js";

export const VmRecord = z.object({
  version: z.literal(1),
  /** The ledger that wrote it (Ledger.id). */
  ledgerId: z.string().optional(),
  spec: VmSpec,
  identity: Identity,
  network: NetworkSpec,
});
export type VmRecord = z.infer<typeof VmRecord>;

export type ReadRecord = { ok: true; record: VmRecord } | { ok: false; why: string };

/** The record the ledger implies for one VM, or undefined when it lacks identity or network. */
export function recordFor(ledger: Ledger, name: string): VmRecord | undefined {
  const spec = ledger.vms[name];
  const identity = ledger.identities[name];
  const network = spec ? ledger.networks[spec.network] : undefined;
  if (!spec || !identity || !network) return undefined;
  const { lastExit: _, ...kept } = spec;
  return { version: 1, ledgerId: ledger.id, spec: kept, identity, network };
}

/** Writes the VM's record (atomically, only when changed) if its directory exists. */
export async function writeVmRecord(paths: LabPaths, ledger: Ledger, name: string): Promise<void> {
  const record = recordFor(ledger, name);
  const f = paths.vm(name);
  // A create writes the ledger before the directory exists; the overlay's creation writes it then.
  if (!record || (await readdir(f.dir).catch(() => undefined)) === undefined) return;
  await writeIfChanged(f.record, `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export async function writeVmRecords(paths: LabPaths, ledger: Ledger): Promise<void> {
  for (const name of Object.keys(ledger.vms)) await writeVmRecord(paths, ledger, name);
}

export async function readVmRecord(paths: LabPaths, name: string): Promise<ReadRecord> {
  const text = await readText(paths.vm(name).record).catch((e: Error) => e);
  if (text === undefined) return { ok: false, why: "no vm.json" };
  if (text instanceof Error) return { ok: false, why: text.message };
  try {
    const parsed = VmRecord.safeParse(JSON.parse(text));
    if (parsed.success && parsed.data.spec.name === name) return { ok: true, record: parsed.data };
    return { ok: false, why: parsed.success ? "vm.json names another VM" : "vm.json does not validate" };
  } catch (err) {
    return { ok: false, why: `vm.json: ${(err as Error).message}` };
  }
}

/** VM directories (valid names only) that the ledger does not name. */
export async function strayVmDirs(paths: LabPaths, ledger: Ledger): Promise<string[]> {
  const dirs = await readdir(paths.vmsDir).catch(() => [] as string[]);
  return dirs.filter((d) => /^[a-z0-9-]+$/.test(d) && !Object.hasOwn(ledger.vms, d)).sort();
}
