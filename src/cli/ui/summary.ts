// How `lab up` ends: the plan as rows, what was done after a run, and the two ways a run stops
// early (a failed step, Ctrl-C) as errors with their exit codes.
import { InterruptedError, type LabError, StepFailedError } from "../../errors.js";
import type { Step } from "../../lab/plan/steps.js";
import type { ExecResult, StepState } from "../../lab/run/executor.js";
import { seconds } from "./progress.js";

export function planRows(steps: Step[]): string[][] {
  return steps.map((s) => [s.kind, s.name, s.action, s.detail]);
}

export function conflictLines(steps: Step[]): string[] {
  return steps
    .filter((s) => s.action === "conflict")
    .map((s) => `${s.kind} ${s.name}: ${s.detail}${s.hint ? `\n    hint: ${s.hint}` : ""}`);
}

const GROUPS: [string, StepState[]][] = [
  ["done", ["done"]],
  ["unchanged", ["unchanged"]],
  ["stopped waiting", ["interrupted"]],
  ["failed", ["failed"]],
  ["not started", ["skipped", "pending"]],
];

/** Lines after a run: one when everything went through, a list by outcome otherwise. */
export function resultLines(steps: Step[], result: ExecResult, elapsedMs: number): string[] {
  const by = (states: StepState[]) =>
    steps
      .filter((s) => states.includes(result.states.get(s.id) ?? "pending"))
      .map((s) => `${s.kind} ${s.name}`);
  const changed = by(["done"]).length;
  if (!result.failed && !result.interrupted) {
    return [`lab up: ${changed} change(s), ${by(["unchanged"]).length} unchanged, in ${seconds(elapsedMs)}`];
  }
  const head = result.interrupted
    ? `interrupted after ${seconds(elapsedMs)}`
    : `stopped after ${seconds(elapsedMs)}`;
  const lines = [head];
  for (const [label, states] of GROUPS) {
    const names = by(states);
    if (names.length > 0) lines.push(`  ${`${label}:`.padEnd(17)}${names.join(", ")}`);
  }
  return lines;
}

export function runError(result: ExecResult): LabError | undefined {
  if (result.failed) return new StepFailedError(result.failed.step, result.failed.error);
  if (result.interrupted)
    return new InterruptedError("lab up was interrupted (Ctrl-C); no new steps were started", {
      hint: "run 'lab up' again to finish, or 'lab down' to remove what it made",
    });
  return undefined;
}
