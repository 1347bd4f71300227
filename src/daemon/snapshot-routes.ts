// API paths for VM and lab snapshots (vm/snapshot.ts); bodies and answers checked with
// api/snapshots.ts. Each change runs under the lock, one at a time.
import { snapshotRoutes as api } from "../api/snapshots.js";
import type { LabContext } from "../context.js";
import {
  listSnapshots,
  removeSnapshot,
  restoreLabSnapshot,
  restoreSnapshot,
  saveLabSnapshot,
  saveSnapshot,
} from "../vm/snapshot.js";
import type { Route } from "./server.js";
import { typedRoute } from "./typed-route.js";

export function snapshotRoutes(ctx: LabContext): Route[] {
  const { lock } = ctx;
  return [
    typedRoute(api.list, (req) => listSnapshots(ctx, req.params.name!)),
    typedRoute(api.save, (req, body) => lock.run(() => saveSnapshot(ctx, req.params.name!, body.snapshot))),
    typedRoute(api.restore, (req) =>
      lock.run(() => restoreSnapshot(ctx, req.params.name!, req.params.snapshot!)),
    ),
    typedRoute(api.remove, (req) =>
      lock.run(() => removeSnapshot(ctx, req.params.name!, req.params.snapshot!)),
    ),
    typedRoute(api.saveLab, (_req, body) => lock.run(() => saveLabSnapshot(ctx, body.vms, body.snapshot))),
    typedRoute(api.restoreLab, (_req, body) =>
      lock.run(() => restoreLabSnapshot(ctx, body.vms, body.snapshot)),
    ),
  ];
}
