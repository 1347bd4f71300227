// lab up | down | status [-f FILE]: a whole lab from one file. Planning and running live in
// src/lab/; this file parses options, shows progress and results, and turns Ctrl-C into a stop.
import { LabClient } from "../../client/client.js";
import { ConflictError } from "../../errors.js";
import { DEFAULT_LAB_FILE } from "../../lab/file/load.js";
import { isChange, type Step, summarizeActions } from "../../lab/plan/steps.js";
import { actionsFor } from "../../lab/run/actions.js";
import { downError, labDown } from "../../lab/run/down.js";
import { type ExecResult, executeSteps } from "../../lab/run/executor.js";
import { kubeTargets, waitForNodesReady } from "../../lab/run/kube-ready.js";
import { prepareUp } from "../../lab/run/prepare.js";
import { labStatus, statusRows } from "../../lab/run/status.js";
import { printJson, printTable } from "../output.js";
import { chooseView, jsonView } from "../ui/progress.js";
import { conflictLines, planRows, resultLines, runError } from "../ui/summary.js";
import {
  downAllCommand,
  downPlanForFile,
  type GlobalOpts,
  statusAllCommand,
  withoutLabFile,
} from "./global.js";

interface LabOpts {
  file?: string;
  plan?: boolean;
  /** false with --no-wait-nodes. */
  waitNodes?: boolean;
  json?: boolean;
  forget?: boolean;
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function printPlan(steps: Step[], json: boolean): void {
  if (json) {
    jsonView(process.stdout).start(steps);
    return;
  }
  printTable(["KIND", "NAME", "ACTION", "DETAILS"], planRows(steps));
  for (const l of conflictLines(steps)) out(`conflict: ${l}`);
  const idle = steps.every((s) => s.action === "unchanged");
  out(idle ? "plan: nothing to do" : `plan: ${summarizeActions(steps)}`);
}

/** Runs the steps with a live view; Ctrl-C stops starting new ones (a second Ctrl-C kills). */
async function runSteps(steps: Step[], client: LabClient, json: boolean): Promise<ExecResult> {
  const view = chooseView(json, process.stdout, process.stderr, steps.length);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once("SIGINT", onSigint);
  view.start(steps);
  try {
    return await executeSteps(steps, (s) => actionsFor(s, { client }), {
      signal: interrupt.signal,
      onEvent: (e) => view.event(e),
    });
  } finally {
    view.stop();
    process.off("SIGINT", onSigint);
  }
}

export async function upCommand(opts: LabOpts): Promise<void> {
  const file = opts.file ?? DEFAULT_LAB_FILE;
  const client = new LabClient();
  const { steps } = await prepareUp(client, file);
  if (opts.plan) return printPlan(steps, !!opts.json);
  const conflicts = conflictLines(steps);
  if (conflicts.length > 0) {
    const hint = steps.find((s) => s.action === "conflict")?.hint;
    throw new ConflictError(
      `${file} conflicts with what exists; nothing was changed:\n  ${conflicts.join("\n  ")}`,
      {
        hint,
      },
    );
  }
  if (!steps.some(isChange)) {
    if (opts.json)
      return printJsonLine(
        upSummary(0, { interrupted: false, states: new Map(steps.map((s) => [s.id, "unchanged"])) }),
      );
    return out(`nothing to do: all ${steps.length} resources of ${file} are as declared`);
  }
  const started = Date.now();
  const result = await runSteps(steps, client, !!opts.json);
  const elapsedMs = Date.now() - started;
  if (opts.json) printJsonLine(upSummary(elapsedMs, result));
  else for (const l of resultLines(steps, result, elapsedMs)) out(l);
  const err = runError(result);
  if (err) throw err;
  const kube = kubeTargets(steps);
  if (kube && opts.waitNodes !== false) {
    const ready = await waitForNodesReady(kube, {
      timeoutMs: NODES_TIMEOUT_MS,
      note: opts.json ? undefined : out,
    });
    if (opts.json) printJsonLine({ type: "kubernetes", ready: ready.ready });
  }
}

/** Fetching the release binaries from the mirror and starting every component, under TCG. */
const NODES_TIMEOUT_MS = 900_000;

/** The last JSON line of `lab up --json`, the same shape whether anything ran or not. */
function upSummary(elapsedMs: number, result: ExecResult) {
  return {
    type: "summary",
    elapsedMs,
    interrupted: result.interrupted,
    failed: result.failed?.step.id ?? null,
    states: Object.fromEntries(result.states),
  };
}

function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export async function downCommand(opts: LabOpts & GlobalOpts): Promise<void> {
  if (withoutLabFile(opts)) return downAllCommand(opts);
  if (opts.plan) return downPlanForFile(opts.file ?? DEFAULT_LAB_FILE, opts);
  // --json streams one line per outcome as it happens, as `lab up --json` streams its events.
  const outcomes = await labDown(new LabClient(), opts.file ?? DEFAULT_LAB_FILE, {
    forget: !!opts.forget,
    onOutcome: (o) =>
      opts.json ? printJsonLine({ type: "outcome", ...o }) : out(`${o.kind} ${o.name}: ${o.message}`),
  });
  if (opts.json)
    printJsonLine({ type: "summary", failed: outcomes.filter((o) => o.result === "failed").length });
  else if (!opts.forget && outcomes.some((o) => o.kind === "vm" && o.result === "removed"))
    out("(MAC and IP addresses stay reserved for the names; --forget releases them)");
  const err = downError(outcomes);
  if (err) throw err;
}

export async function statusCommand(opts: LabOpts): Promise<void> {
  if (withoutLabFile(opts)) return statusAllCommand(opts);
  const s = await labStatus(new LabClient(), opts.file ?? DEFAULT_LAB_FILE);
  if (opts.json) return printJson(s);
  printTable(["KIND", "NAME", "STATE", "ADDRESS", "DETAILS"], statusRows(s));
  if ("note" in s.fleet) out(`fleet: ${s.fleet.note}`);
}
