// Multi-step applies as named steps (firecracker-go-sdk's handler list is the model): each step
// returns its own undo; on failure the undos of the steps done run once, in reverse, and an undo
// that fails is reported with the error (details.rollbackFailures) instead of being dropped.
import { InternalError } from "../errors.js";
import { faultPoint } from "./faults.js";

export type Undo = () => Promise<void>;

/**
 * One step over a shared state `S`; what it makes, it undoes with the function `run` returns.
 * A step that can fail half-way (a tap made, its port not) gives `undo` instead: it is recorded
 * before the step runs, so it must be safe whatever the step got to.
 */
export interface Step<S> {
  readonly name: string;
  /** A LAB_FAULTS point (src/state/faults.ts) checked just before the step runs. */
  readonly fault?: string;
  run(state: S): Promise<Undo> | Promise<void>;
  undo?(state: S): Promise<void>;
}

/** Steps that do not depend on each other, run at the same time; each still records its own undo. */
export interface Together<S> {
  readonly name: string;
  readonly together: readonly Step<S>[];
}

export type StepEntry<S> = Step<S> | Together<S>;

export class UndoStack {
  private undos: { name: string; fn: Undo }[] = [];

  push(name: string, fn: Undo): void {
    this.undos.push({ name, fn });
  }

  /** Runs every undo in reverse order; an undo that fails does not stop the others. */
  async rollback(onUndo?: (name: string) => void): Promise<string[]> {
    const failures: string[] = [];
    for (const { name, fn } of this.undos.reverse()) {
      onUndo?.(name);
      try {
        await fn();
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
    this.undos = [];
    return failures;
  }
}

/**
 * Runs `body` with an undo stack; rolls back and rethrows if it fails. Undos that fail go with
 * the error, as details.rollbackFailures ("step: message" each).
 */
export async function withRollback<T>(
  body: (undo: UndoStack) => Promise<T>,
  onUndo?: (name: string) => void,
): Promise<T> {
  const undo = new UndoStack();
  try {
    return await body(undo);
  } catch (err) {
    const failures = await undo.rollback(onUndo);
    if (failures.length === 0) throw err;
    const e: { details?: Record<string, unknown> } =
      err !== null && typeof err === "object" ? err : new InternalError(String(err));
    e.details = { ...e.details, rollbackFailures: failures };
    throw e;
  }
}

export interface RunStepsOptions {
  /** Told of each step as it starts (progress lines, tests). */
  onStep?: (name: string) => void;
  /** Told of each undo as it starts, after a failure. */
  onUndo?: (name: string) => void;
}

async function runEntry<S>(entry: StepEntry<S>, state: S, undo: UndoStack, opts: RunStepsOptions) {
  if ("together" in entry) {
    // Every branch settles before the first failure is thrown, so each one's undo is recorded.
    const results = await Promise.allSettled(entry.together.map((s) => runEntry(s, state, undo, opts)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return;
  }
  opts.onStep?.(entry.name);
  if (entry.fault) faultPoint(entry.fault);
  const { undo: early } = entry;
  if (early) undo.push(entry.name, () => early.call(entry, state));
  const fn = await entry.run(state);
  if (fn) undo.push(entry.name, fn);
}

/** Runs the steps in order; when one fails, undoes the ones done, in reverse, and rethrows. */
export async function runSteps<S>(
  steps: readonly StepEntry<S>[],
  state: S,
  opts: RunStepsOptions = {},
): Promise<void> {
  await withRollback(async (undo) => {
    for (const entry of steps) await runEntry(entry, state, undo, opts);
  }, opts.onUndo);
}

/** The names of the steps in the order they start (those run together in list order). */
export function stepNames<S>(steps: readonly StepEntry<S>[]): string[] {
  return steps.flatMap((s) => ("together" in s ? stepNames(s.together) : [s.name]));
}
