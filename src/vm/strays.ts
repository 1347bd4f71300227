// VM directories the ledger does not name. They are never deleted: one whose own record says the
// present ledger wrote it (so that ledger let it go) is moved to quarantine; any other (a lost or
// replaced ledger) stays in place and is reported, for `lab recover`.
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import type { LabContext } from "../context.js";
import type { Ledger } from "../state/ledger.js";
import { readVmRecord, strayVmDirs } from "./record.js";
import { runningPid } from "./status.js";

export interface Stray {
  name: string;
  /** The network its record names, when it has a readable record. */
  network?: string;
  running: boolean;
  /** Why it stays (or was quarantined). */
  reason: string;
  abandoned: boolean;
}

export async function findStrays(ctx: LabContext, ledger: Ledger, ledgerExisted: boolean): Promise<Stray[]> {
  const out: Stray[] = [];
  for (const name of await strayVmDirs(ctx.paths, ledger)) {
    const read = await readVmRecord(ctx.paths, name);
    const running = runningPid(ctx, name) !== undefined;
    const network = read.ok ? read.record.spec.network : undefined;
    const ours = read.ok && ledgerExisted && !!ledger.id && read.record.ledgerId === ledger.id;
    const abandoned = ours && !running;
    const reason = !read.ok
      ? `${read.why}: nothing proves it abandoned`
      : running
        ? "its qemu still runs"
        : ours
          ? "the ledger that wrote its record no longer names it"
          : "its record comes from another (lost or replaced) ledger";
    out.push({ name, network, running, reason, abandoned });
  }
  return out;
}

/** Moves each proven-abandoned directory to quarantine; reports the others. Deletes nothing. */
export async function handleStrays(
  ctx: LabContext,
  strays: Stray[],
  log: (m: string) => void,
): Promise<void> {
  for (const s of strays) {
    if (!s.abandoned) {
      log(
        `VM directory ${ctx.paths.vm(s.name).dir} is not in the ledger (${s.reason}); left in place. ` +
          "'lab recover --plan' shows what 'lab recover' would restore from it",
      );
      ctx.events.emit("vm.stray", { vm: s.name, reason: s.reason, hint: "lab recover --plan" });
      continue;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const to = path.join(ctx.paths.quarantineDir, `${s.name}-${stamp}`);
    await mkdir(ctx.paths.quarantineDir, { recursive: true, mode: 0o700 });
    await rename(ctx.paths.vm(s.name).dir, to);
    log(
      `VM directory ${s.name} quarantined to ${to} (${s.reason}); to bring it back: ` +
        `mv ${to} ${ctx.paths.vm(s.name).dir} && lab recover`,
    );
    ctx.events.emit("vm.quarantined", { vm: s.name, to, reason: s.reason });
  }
}
