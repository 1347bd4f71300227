import { describe, expect, it } from "vitest";
import { jsonView, lineView, ttyView } from "../../src/cli/ui/progress.js";
import { resultLines, runError } from "../../src/cli/ui/summary.js";
import { ConflictError } from "../../src/errors.js";
import type { Step } from "../../src/lab/plan/steps.js";
import { executeSteps, type StepActions, type StepEvent } from "../../src/lab/run/executor.js";

const step = (id: string, action: Step["action"], after: string[] = [], afterReady: string[] = []): Step =>
  ({
    id,
    kind: id.split("/")[0],
    name: id.split("/")[1],
    action,
    detail: "",
    after,
    afterReady,
    body: {},
  }) as unknown as Step;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records when each step's apply and ready start and end. */
function recorder(opts: { failing?: string; readyMs?: number } = {}) {
  const log: string[] = [];
  let applying = 0;
  let maxApplying = 0;
  const actionsFor = (s: Step): StepActions => ({
    exclusive: s.kind !== "unit",
    async apply() {
      applying++;
      maxApplying = Math.max(maxApplying, applying);
      log.push(`apply ${s.id}`);
      await sleep(5);
      applying--;
      if (s.id === opts.failing) throw new ConflictError(`${s.name} is broken`, { hint: "fix it" });
      return "applied";
    },
    ready:
      s.kind === "vm"
        ? async (_note, signal) => {
            await sleep(opts.readyMs ?? 20);
            signal.throwIfAborted();
            log.push(`ready ${s.id}`);
            return "ready";
          }
        : undefined,
  });
  return { log, actionsFor, maxApplying: () => maxApplying };
}

const plan = () => [
  step("network/default", "create"),
  step("image/lab-test", "unchanged"),
  step("vm/etcd", "create", ["network/default", "image/lab-test"]),
  step("vm/node-1", "create", ["network/default", "vm/etcd"]),
  step("vm/node-2", "start", ["network/default", "vm/etcd"]),
  step("unit/kube.service", "launch", [], ["vm/etcd", "vm/node-1", "vm/node-2"]),
];

describe("lab up executor", () => {
  it("respects dependencies, runs daemon changes one at a time and boots concurrently", async () => {
    const r = recorder();
    const events: StepEvent[] = [];
    const result = await executeSteps(plan(), r.actionsFor, {
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    expect(result.failed).toBeUndefined();
    expect(r.maxApplying()).toBe(1);
    const at = (line: string) => r.log.indexOf(line);
    expect(at("apply network/default")).toBeLessThan(at("apply vm/etcd"));
    expect(at("apply vm/etcd")).toBeLessThan(at("apply vm/node-1"));
    // Workers are created before the etcd machine is ready: boots overlap.
    expect(at("apply vm/node-2")).toBeLessThan(at("ready vm/etcd"));
    expect(at("apply unit/kube.service")).toBeGreaterThan(at("ready vm/node-2"));
    expect(Object.fromEntries(result.states)).toEqual({
      "network/default": "done",
      "image/lab-test": "unchanged",
      "vm/etcd": "done",
      "vm/node-1": "done",
      "vm/node-2": "done",
      "unit/kube.service": "done",
    });
    expect(events.filter((e) => e.id === "vm/etcd").map((e) => e.state)).toEqual([
      "running",
      "waiting",
      "done",
    ]);
  });

  it("stops at a failed step: says which and why, starts nothing after it", async () => {
    const r = recorder({ failing: "vm/etcd" });
    const result = await executeSteps(plan(), r.actionsFor, {
      signal: new AbortController().signal,
      onEvent: () => {},
    });
    expect(result.failed?.step.id).toBe("vm/etcd");
    expect(r.log).not.toContain("apply vm/node-1");
    expect(result.states.get("vm/node-1")).toBe("skipped");
    const err = runError(result)!;
    expect(err.message).toBe("vm etcd (create) failed: etcd is broken");
    expect([err.code, err.exitCode, err.hint]).toEqual(["conflict", 4, "fix it"]);
    expect(resultLines(plan(), result, 1000).join("\n")).toMatch(/failed: +vm etcd/);
  });

  it("on interrupt starts no new step, lets the running change finish and stops waiting", async () => {
    const r = recorder({ readyMs: 200 });
    const ctl = new AbortController();
    const events: StepEvent[] = [];
    const running = executeSteps(plan(), r.actionsFor, {
      signal: ctl.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.id === "vm/node-1" && e.state === "running") ctl.abort();
      },
    });
    const result = await running;
    expect(result.interrupted).toBe(true);
    expect(r.log).toContain("apply vm/node-1");
    expect(r.log).not.toContain("apply vm/node-2");
    expect(Object.fromEntries(result.states)).toMatchObject({
      "network/default": "done",
      "vm/etcd": "interrupted",
      "vm/node-1": "interrupted",
      "vm/node-2": "skipped",
      "unit/kube.service": "skipped",
    });
    const err = runError(result)!;
    expect([err.code, err.exitCode]).toEqual(["interrupted", 130]);
    const lines = resultLines(plan(), result, 1234).join("\n");
    expect(lines).toMatch(/^interrupted after 1\.2s/);
    expect(lines).toMatch(/stopped waiting: +vm etcd, vm node-1/);
    expect(lines).toMatch(/not started: +vm node-2, unit kube\.service/);
  });
});

describe("lab up views", () => {
  const sink = (isTTY = false) => {
    const chunks: string[] = [];
    return {
      out: { write: (s: string) => chunks.push(s), isTTY, columns: 100, rows: 40 },
      text: () => chunks.join(""),
    };
  };
  const ev = (id: string, state: StepEvent["state"], message?: string): StepEvent => ({
    type: "step",
    id,
    kind: "vm",
    name: id.slice(3),
    action: "create",
    state,
    message,
    elapsedMs: 1500,
  });

  it("redraws the task list in place with ANSI cursor moves", () => {
    const s = sink(true);
    const view = ttyView(s.out, () => 0);
    view.start([step("vm/etcd", "create"), step("vm/node-1", "create")]);
    view.event(ev("vm/etcd", "done", "ready, 172.16.11.10"));
    view.stop();
    const text = s.text();
    expect(text).toContain("\x1b[2A"); // up over the two lines drawn before
    expect(text).toMatch(/✔ vm +etcd +ready, 172\.16\.11\.10 +1\.5s/);
    expect(text.endsWith("\x1b[?25h")).toBe(true);
  });

  it("prints plain lines on a pipe and JSON lines with --json", () => {
    const plain = sink();
    const lines = lineView(plain.out);
    lines.event(ev("vm/etcd", "running"));
    lines.event(ev("vm/etcd", "done", "ready, 172.16.11.10"));
    expect(plain.text()).toBe("vm etcd: create…\nvm etcd: ready, 172.16.11.10 (1.5s)\n");
    const json = sink();
    jsonView(json.out).event(ev("vm/etcd", "done"));
    expect(JSON.parse(json.text())).toMatchObject({ type: "step", id: "vm/etcd", state: "done" });
  });
});
