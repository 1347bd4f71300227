// How `lab up` shows its steps: a live task list redrawn in place on a terminal (ANSI cursor
// moves; one line per network, image, VM and unit), plain lines on a pipe, or one JSON event per
// line with --json.

import type { Step } from "../../lab/plan/steps.js";
import type { StepEvent, StepState } from "../../lab/run/executor.js";

export interface UpView {
  start(steps: Step[]): void;
  event(e: StepEvent): void;
  stop(): void;
}

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const MARK: Record<StepState, string> = {
  pending: "·",
  unchanged: "=",
  running: "",
  waiting: "",
  done: "✔",
  failed: "✘",
  skipped: "-",
  interrupted: "!",
};
const WORD: Record<StepState, string> = {
  pending: "pending",
  unchanged: "unchanged",
  running: "working",
  waiting: "waiting",
  done: "done",
  failed: "FAILED",
  skipped: "skipped",
  interrupted: "interrupted",
};

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

interface Row {
  step: Step;
  state: StepState;
  message?: string;
  since: number;
  elapsedMs: number;
}

const live = (s: StepState) => s === "running" || s === "waiting";

function label(step: Step): string {
  return `${step.kind.padEnd(7)} ${step.name.padEnd(18)}`;
}

/** The in-place task list. Lines are cut to the terminal width so the cursor math stays right. */
export function ttyView(out: Writable, now = () => Date.now()): UpView {
  let rows: Row[] = [];
  let drawn = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = (r: Row) => {
    const mark = live(r.state) ? SPINNER[frame % SPINNER.length]! : MARK[r.state];
    const elapsed = live(r.state) ? now() - r.since : r.elapsedMs;
    const text = r.message ?? (r.state === "pending" ? `${r.step.action}: ${r.step.detail}` : WORD[r.state]);
    const time = r.state === "pending" || r.state === "unchanged" ? "" : seconds(elapsed);
    const width = (out.columns ?? 100) - 1;
    const body = `  ${mark} ${label(r.step)} ${text}`;
    return `${body.slice(0, Math.max(0, width - 8)).padEnd(Math.min(width - 8, 72))}${time.padStart(8)}`;
  };
  const draw = () => {
    frame++;
    let s = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const r of rows) s += `\x1b[2K${line(r)}\n`;
    drawn = rows.length;
    out.write(s);
  };
  return {
    start(steps) {
      rows = steps.map((step) => ({ step, state: "pending", since: now(), elapsedMs: 0 }));
      out.write("\x1b[?25l");
      draw();
      timer = setInterval(draw, 100);
    },
    event(e) {
      const r = rows.find((x) => x.step.id === e.id);
      if (!r) return;
      if (!live(r.state) && live(e.state)) r.since = now() - e.elapsedMs;
      r.message = e.message ?? (e.state === r.state ? r.message : undefined);
      r.state = e.state;
      r.elapsedMs = e.elapsedMs;
    },
    stop() {
      if (timer) clearInterval(timer);
      draw();
      out.write("\x1b[?25h");
    },
  };
}

/** One line per state change (and per new note, at most every 5 s per step). */
export function lineView(out: Writable): UpView {
  const last = new Map<string, { state: StepState; noteAt: number }>();
  return {
    start() {},
    event(e) {
      const prev = last.get(e.id);
      const changed = prev?.state !== e.state;
      if (!changed && (!e.message || Date.now() - (prev?.noteAt ?? 0) < 5000)) return;
      last.set(e.id, { state: e.state, noteAt: Date.now() });
      const untimed = e.state === "running" || e.state === "unchanged" || e.state === "skipped";
      const timed = untimed ? "" : ` (${seconds(e.elapsedMs)})`;
      const what = e.state === "running" && changed ? `${e.action}…` : (e.message ?? WORD[e.state]);
      out.write(`${e.kind} ${e.name}: ${e.state === "failed" ? "FAILED: " : ""}${what}${timed}\n`);
    },
    stop() {},
  };
}

export function jsonView(out: Writable): UpView {
  const write = (v: unknown) => out.write(`${JSON.stringify(v)}\n`);
  return {
    start(steps) {
      write({
        type: "plan",
        steps: steps.map(({ id, kind, name, action, detail, hint }) => ({
          id,
          kind,
          name,
          action,
          detail,
          hint,
        })),
      });
    },
    event: write,
    stop() {},
  };
}

/** The task list needs a terminal tall enough to hold it; otherwise plain lines. */
export function chooseView(json: boolean, stdout: Writable, stderr: Writable, steps: number): UpView {
  if (json) return jsonView(stdout);
  const fits = stderr.rows === undefined || stderr.rows > steps + 1;
  return stderr.isTTY && fits ? ttyView(stderr) : lineView(stderr);
}
