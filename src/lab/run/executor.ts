// Runs planned steps in dependency order. Changes that go through the daemon run one at a time
// (labd serializes them anyway, and it lets Ctrl-C stop between them); waiting for guests to be
// ready runs concurrently. After a failure or an interrupt no new step starts: a change already
// sent to labd finishes there (labd completes or rolls back its own operations), waits stop.
import { type ErrorShape, toLabError } from "../../errors.js";
import type { Step } from "../plan/steps.js";

export type StepState =
  | "pending"
  | "unchanged"
  | "running"
  | "waiting"
  | "done"
  | "failed"
  | "skipped"
  | "interrupted";

export interface StepEvent {
  type: "step";
  id: string;
  kind: Step["kind"];
  name: string;
  action: Step["action"];
  state: StepState;
  message?: string;
  elapsedMs: number;
  error?: ErrorShape;
}

export interface StepActions {
  /** Changes go through labd one at a time. */
  exclusive: boolean;
  apply(note: (message: string) => void, signal: AbortSignal): Promise<string | undefined>;
  /** Waits until the step's resource is ready (a guest booted); may be abandoned on interrupt. */
  ready?(note: (message: string) => void, signal: AbortSignal): Promise<string | undefined>;
}

export interface ExecResult {
  states: Map<string, StepState>;
  failed?: { step: Step; error: unknown };
  interrupted: boolean;
}

interface Gate {
  promise: Promise<boolean>;
  resolve: (ok: boolean) => void;
}

function gate(): Gate {
  let resolve!: (ok: boolean) => void;
  const promise = new Promise<boolean>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A one-slot queue: callers run `fn` in arrival order. */
function serializer() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

class SkipSignal extends Error {}

type Emit = (state: StepState, message?: string, error?: unknown) => void;

/** One run of a plan: the gates between steps, their states, and how a run stops early. */
class PlanRun {
  readonly applied: Map<string, Gate>;
  readonly ready: Map<string, Gate>;
  readonly result: ExecResult;
  private readonly stop = new AbortController();
  /** Aborts waits on Ctrl-C and after another step failed. */
  readonly waits: AbortSignal;
  readonly exclusive = serializer();

  constructor(
    steps: Step[],
    readonly actionsFor: (step: Step) => StepActions,
    readonly opts: { signal: AbortSignal; onEvent: (e: StepEvent) => void },
  ) {
    this.applied = new Map(steps.map((s) => [s.id, gate()]));
    this.ready = new Map(steps.map((s) => [s.id, gate()]));
    this.result = { states: new Map(steps.map((s) => [s.id, "pending"])), interrupted: false };
    this.waits = AbortSignal.any([opts.signal, this.stop.signal]);
  }

  private halted(): boolean {
    return this.opts.signal.aborted || this.result.failed !== undefined;
  }

  private emitter(step: Step, started: () => number): Emit {
    return (state, message, error) => {
      this.result.states.set(step.id, state);
      const { id, kind, name, action } = step;
      this.opts.onEvent({
        type: "step",
        ...{ id, kind, name, action, state, message },
        elapsedMs: state === "pending" || state === "unchanged" ? 0 : Date.now() - started(),
        ...(error === undefined ? {} : { error: toLabError(error).toJSON() }),
      });
    };
  }

  private finish(step: Step, ok: boolean): void {
    this.applied.get(step.id)!.resolve(ok);
    this.ready.get(step.id)!.resolve(ok);
  }

  private async dependenciesOk(step: Step): Promise<boolean> {
    const deps = [
      ...step.after.map((d) => this.applied.get(d)?.promise ?? Promise.resolve(true)),
      ...step.afterReady.map((d) => this.ready.get(d)?.promise ?? Promise.resolve(true)),
    ];
    return (await Promise.all(deps)).every(Boolean);
  }

  async run(step: Step): Promise<void> {
    // Elapsed time counts from when the step itself starts, not from when it began waiting.
    let started = Date.now();
    const emit = this.emitter(step, () => started);
    if (step.action === "unchanged") {
      emit("unchanged");
      return this.finish(step, true);
    }
    const depsOk = await this.dependenciesOk(step);
    const note = (m: string) =>
      emit(this.result.states.get(step.id) === "waiting" ? "waiting" : "running", m);
    const actions = this.actionsFor(step);
    const slot = actions.exclusive ? this.exclusive : <T>(f: () => Promise<T>) => f();
    try {
      const applied = await slot(async () => {
        if (!depsOk || this.halted()) throw new SkipSignal(depsOk ? "interrupted" : "dependency failed");
        started = Date.now();
        emit("running");
        return actions.apply(note, this.waits);
      });
      this.applied.get(step.id)!.resolve(true);
      if (actions.ready) {
        emit("waiting", applied);
        emit("done", (await actions.ready(note, this.waits)) ?? applied);
      } else emit("done", applied);
      this.finish(step, true);
    } catch (err) {
      this.finish(step, false);
      this.failed(step, err, emit);
    }
  }

  private failed(step: Step, err: unknown, emit: Emit): void {
    if (err instanceof SkipSignal) {
      emit("skipped", `not started: ${err.message}`);
    } else if (this.waits.aborted) {
      const why = this.opts.signal.aborted ? "interrupted" : "stopped: another step failed";
      const changed = this.result.states.get(step.id) === "waiting";
      emit("interrupted", changed ? `changed; ${why} before it was ready` : why);
    } else {
      this.result.failed ??= { step, error: err };
      this.stop.abort();
      emit("failed", toLabError(err).message, err);
    }
  }
}

export async function executeSteps(
  steps: Step[],
  actionsFor: (step: Step) => StepActions,
  opts: { signal: AbortSignal; onEvent: (e: StepEvent) => void },
): Promise<ExecResult> {
  const run = new PlanRun(steps, actionsFor, opts);
  await Promise.all(steps.map((s) => run.run(s)));
  run.result.interrupted = opts.signal.aborted;
  return run.result;
}
