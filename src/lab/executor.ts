// Runs planned steps in dependency order. Changes that go through the daemon run one at a time
// (labd serializes them anyway, and it lets Ctrl-C stop between them); waiting for guests to be
// ready runs concurrently. After a failure or an interrupt no new step starts: a change already
// sent to labd finishes there (labd completes or rolls back its own operations), waits stop.
import { type ErrorShape, toLabError } from "../errors.js";
import type { Step } from "./steps.js";

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

export async function executeSteps(
  steps: Step[],
  actionsFor: (step: Step) => StepActions,
  opts: { signal: AbortSignal; onEvent: (e: StepEvent) => void },
): Promise<ExecResult> {
  const applied = new Map(steps.map((s) => [s.id, gate()]));
  const ready = new Map(steps.map((s) => [s.id, gate()]));
  const states = new Map<string, StepState>(steps.map((s) => [s.id, "pending"]));
  const stop = new AbortController();
  const waits = AbortSignal.any([opts.signal, stop.signal]);
  const exclusive = serializer();
  const result: ExecResult = { states, interrupted: false };
  const halted = () => opts.signal.aborted || result.failed !== undefined;

  const run = async (step: Step): Promise<void> => {
    // Elapsed time counts from when the step itself starts, not from when it began waiting.
    let started = Date.now();
    const emit = (state: StepState, message?: string, error?: unknown) => {
      states.set(step.id, state);
      const { id, kind, name, action } = step;
      opts.onEvent({
        type: "step",
        ...{ id, kind, name, action, state, message },
        elapsedMs: state === "pending" || state === "unchanged" ? 0 : Date.now() - started,
        ...(error === undefined ? {} : { error: toLabError(error).toJSON() }),
      });
    };
    const finish = (ok: boolean) => {
      applied.get(step.id)!.resolve(ok);
      ready.get(step.id)!.resolve(ok);
    };
    if (step.action === "unchanged") {
      emit("unchanged");
      return finish(true);
    }
    const deps = [
      ...step.after.map((d) => applied.get(d)?.promise ?? Promise.resolve(true)),
      ...step.afterReady.map((d) => ready.get(d)?.promise ?? Promise.resolve(true)),
    ];
    const depsOk = (await Promise.all(deps)).every(Boolean);
    const note = (m: string) => emit(states.get(step.id) === "waiting" ? "waiting" : "running", m);
    const actions = actionsFor(step);
    try {
      const applyMessage = await (actions.exclusive ? exclusive : (f: () => Promise<unknown>) => f())(
        async () => {
          if (!depsOk || halted()) throw new SkipSignal(depsOk ? "interrupted" : "dependency failed");
          started = Date.now();
          emit("running");
          return actions.apply(note, waits);
        },
      );
      applied.get(step.id)!.resolve(true);
      if (actions.ready) {
        emit("waiting", applyMessage as string | undefined);
        emit("done", (await actions.ready(note, waits)) ?? (applyMessage as string | undefined));
      } else emit("done", applyMessage as string | undefined);
      finish(true);
    } catch (err) {
      finish(false);
      if (err instanceof SkipSignal) return emit("skipped", `not started: ${err.message}`);
      if (waits.aborted) {
        const why = opts.signal.aborted ? "interrupted" : "stopped: another step failed";
        const changed = states.get(step.id) === "waiting";
        return emit("interrupted", changed ? `changed; ${why} before it was ready` : why);
      }
      result.failed ??= { step, error: err };
      stop.abort();
      emit("failed", toLabError(err).message, err);
    }
  };

  await Promise.all(steps.map(run));
  result.interrupted = opts.signal.aborted;
  return result;
}

class SkipSignal extends Error {}
