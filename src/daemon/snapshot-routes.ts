// API paths for VM and lab snapshots (vm/snapshot.ts). Bodies are checked with zod here.
import { z } from "zod";
import type { LabContext } from "../context.js";
import { UsageError } from "../errors.js";
import {
  listSnapshots,
  removeSnapshot,
  restoreLabSnapshot,
  restoreSnapshot,
  saveLabSnapshot,
  saveSnapshot,
} from "../vm/snapshot.js";
import type { Route } from "./server.js";

const SaveBody = z.strictObject({ snapshot: z.string() });
const LabBody = z.strictObject({ snapshot: z.string(), vms: z.array(z.string()) });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new UsageError(
      `bad request: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

export function snapshotRoutes(ctx: LabContext): Route[] {
  const { lock } = ctx;
  return [
    {
      method: "GET",
      pattern: "/v1/vms/:name/snapshots",
      handler: (req) => listSnapshots(ctx, req.params.name!),
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/snapshots",
      handler: (req) => {
        const { snapshot } = parse(SaveBody, req.body);
        return lock.run(() => saveSnapshot(ctx, req.params.name!, snapshot));
      },
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/snapshots/:snapshot/restore",
      handler: (req) => lock.run(() => restoreSnapshot(ctx, req.params.name!, req.params.snapshot!)),
    },
    {
      method: "DELETE",
      pattern: "/v1/vms/:name/snapshots/:snapshot",
      handler: (req) => lock.run(() => removeSnapshot(ctx, req.params.name!, req.params.snapshot!)),
    },
    {
      method: "POST",
      pattern: "/v1/snapshots/save",
      handler: (req) => {
        const { snapshot, vms } = parse(LabBody, req.body);
        return lock.run(() => saveLabSnapshot(ctx, vms, snapshot));
      },
    },
    {
      method: "POST",
      pattern: "/v1/snapshots/restore",
      handler: (req) => {
        const { snapshot, vms } = parse(LabBody, req.body);
        return lock.run(() => restoreLabSnapshot(ctx, vms, snapshot));
      },
    },
  ];
}
