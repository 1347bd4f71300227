// Temp files and directories named ".tmp-<pid>-<random>-<label>" beside their final place, so the
// last step is an atomic rename. Those of a dead process (or forgotten by this one) are stale and
// removed by the next operation; those this process is writing right now never are.
import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { isAlive } from "../host/proc.js";

export const TEMP_PREFIX = ".tmp-";

export class TempArea {
  private active = new Set<string>();

  constructor(readonly dir: string) {}

  /** A fresh temp path in the area, marked in use until `release`. */
  claim(label: string): string {
    const p = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}-${label}`);
    this.active.add(p);
    return p;
  }

  async release(p: string): Promise<void> {
    await rm(p, { recursive: true, force: true });
    this.active.delete(p);
  }

  /** The entry was renamed into its final place: nothing to remove, no longer ours. */
  forget(p: string): void {
    this.active.delete(p);
  }

  /** Removes stale temp entries; returns their names. */
  async cleanStale(): Promise<string[]> {
    const removed: string[] = [];
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (!n.startsWith(TEMP_PREFIX)) continue;
      const full = path.join(this.dir, n);
      const pid = Number(/^\.tmp-(\d+)-/.exec(n)?.[1]);
      // A pid alone is not proof (zombies, reuse): isAlive reads the process state.
      const stale = !Number.isInteger(pid) || (pid === process.pid ? !this.active.has(full) : !isAlive(pid));
      if (!stale) continue;
      await rm(full, { recursive: true, force: true });
      removed.push(n);
    }
    return removed;
  }
}
