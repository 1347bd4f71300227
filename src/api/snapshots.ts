// Snapshot routes: a VM's internal qcow2 snapshots (vm/snapshot.ts), and a lab's, taken or restored
// for several VMs at one paused instant.
import { z } from "zod";
import { snapshotPaths } from "./paths.js";
import { withSchemas } from "./route.js";

export const Snapshot = z
  .object({
    name: z.string(),
    /** Bytes of saved memory: 0 for a disk-only snapshot (taken while the VM was stopped). */
    vmStateBytes: z.number(),
    /** When it was taken (ISO 8601). */
    date: z.string(),
  })
  .meta({ id: "Snapshot", description: "One internal snapshot of a VM's disk (and memory)." });

export const SnapshotChange = z.object({
  vm: z.string(),
  snapshot: z.string(),
  /** The VM runs, so its memory was saved (or it resumed from saved memory). */
  memory: z.boolean(),
});

export const LabSnapshotRequest = z.strictObject({ snapshot: z.string(), vms: z.array(z.string()) });

export const LabSnapshotChange = z.object({
  snapshot: z.string(),
  vms: z.array(z.object({ name: z.string(), memory: z.boolean() })),
});

export const snapshotRoutes = withSchemas(snapshotPaths, {
  list: { answer: z.array(Snapshot) },
  save: { body: z.strictObject({ snapshot: z.string() }), answer: SnapshotChange },
  restore: { answer: SnapshotChange },
  remove: { answer: z.object({ vm: z.string(), snapshot: z.string(), removed: z.boolean() }) },
  saveLab: { body: LabSnapshotRequest, answer: LabSnapshotChange },
  restoreLab: { body: LabSnapshotRequest, answer: LabSnapshotChange },
});
