// Watches every qemu the daemon started or adopted. An exit nobody asked for is recorded with its
// status and the tail of the serial log, and the VM is restarted when its policy says so, with a
// back-off that grows while it keeps crashing.
import type { LabContext, VmWatcher } from "../context.js";
import { isAlive } from "../host/proc.js";
import { serialTail, startVm } from "./lifecycle.js";
import { detachTap } from "./tap.js";

type Exit = { code: number | null; signal: string | null };

const POLL_MS = 200;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
/** A VM that ran this long is no longer in a crash loop. */
const STABLE_MS = 60_000;

export class VmSupervisor implements VmWatcher {
  private watched = new Map<string, { pid: number; startedAt: number; timer?: NodeJS.Timeout }>();
  private crashes = new Map<string, number>();
  private restartTimers = new Map<string, NodeJS.Timeout>();
  /** The daemon's context, with this supervisor as its watcher. */
  readonly ctx: LabContext;

  constructor(base: Omit<LabContext, "watcher">) {
    this.ctx = { ...base, watcher: this };
  }

  watch(name: string, pid: number, exited?: Promise<Exit>): void {
    this.forget(name);
    const entry: { pid: number; startedAt: number; timer?: NodeJS.Timeout } = { pid, startedAt: Date.now() };
    this.watched.set(name, entry);
    if (exited) {
      void exited.then((e) => this.exited(name, pid, e));
    } else {
      // Adopted after a daemon restart: not our child, so poll its state (a zombie counts as gone).
      entry.timer = setInterval(() => {
        if (!isAlive(pid)) void this.exited(name, pid, { code: null, signal: null });
      }, POLL_MS);
      entry.timer.unref();
    }
  }

  forget(name: string): void {
    const entry = this.watched.get(name);
    if (entry?.timer) clearInterval(entry.timer);
    this.watched.delete(name);
    const t = this.restartTimers.get(name);
    if (t) clearTimeout(t);
    this.restartTimers.delete(name);
  }

  stopAll(): void {
    for (const name of [...this.watched.keys()]) this.forget(name);
  }

  private async exited(name: string, pid: number, exit: Exit): Promise<void> {
    const entry = this.watched.get(name);
    if (!entry || entry.pid !== pid) return;
    this.forget(name);
    const spec = this.ctx.ledger.read().vms[name];
    if (!spec?.wantRunning) return; // stopped or destroyed on purpose
    const poweredOff = exit.code === 0 && exit.signal === null;
    const logTail = await serialTail(this.ctx, name);
    await this.ctx.ledger.update((l) => {
      const v = l.vms[name];
      if (!v) return;
      v.lastExit = {
        at: new Date().toISOString(),
        code: exit.code,
        signal: exit.signal,
        crashed: !poweredOff,
        logTail,
      };
      if (poweredOff && v.restart !== "always") v.wantRunning = false;
    });
    this.ctx.events.emit(poweredOff ? "vm.powered_off" : "vm.crashed", { vm: name, pid, ...exit });
    const restart = spec.restart === "always" || (spec.restart === "on-failure" && !poweredOff);
    if (!restart) {
      await this.ctx.lock.run(() => detachTap(this.ctx, name)).catch(() => undefined);
      return;
    }
    this.scheduleRestart(name, Date.now() - entry.startedAt);
  }

  /** For VMs found dead at daemon start whose policy wants them back. */
  restartLater(name: string): void {
    this.scheduleRestart(name, 0);
  }

  private scheduleRestart(name: string, ranMs: number): void {
    const count = ranMs > STABLE_MS ? 0 : (this.crashes.get(name) ?? 0);
    this.crashes.set(name, count + 1);
    const delay = BACKOFF_MS[Math.min(count, BACKOFF_MS.length - 1)]!;
    const timer = setTimeout(() => {
      this.restartTimers.delete(name);
      void this.ctx.lock
        .run(async () => {
          const spec = this.ctx.ledger.read().vms[name];
          if (!spec?.wantRunning) return;
          await startVm(this.ctx, name);
          this.ctx.events.emit("vm.restarted", { vm: name, attempt: count + 1, delayMs: delay });
        })
        .catch((err: Error) => {
          const details = (err as { details?: Record<string, unknown> }).details;
          this.ctx.events.emit("vm.restart_failed", {
            vm: name,
            error: err.message,
            ...(details?.rollbackFailures ? { rollbackFailures: details.rollbackFailures } : {}),
          });
          this.scheduleRestart(name, 0);
        });
    }, delay);
    timer.unref();
    this.restartTimers.set(name, timer);
  }
}
