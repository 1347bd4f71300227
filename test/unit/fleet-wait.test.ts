// Waiting for units as `lab fleet start` does, and `lab up`'s unit steps on top of it: done only
// once systemd runs the unit on every machine it belongs on, progress while waiting, a failed
// unit reported with its journal. fleet is an in-memory stand-in answering in the shapes of
// fleetd v1.0.0 (test/fixtures/fleet-v1.0.0).
import { describe, expect, it } from "vitest";
import type { LabClient } from "../../src/client/client.js";
import { FleetApiError } from "../../src/errors.js";
import type { FleetMachine, FleetUnit, FleetUnitState } from "../../src/fleet/api.js";
import { readSnapshot, waitFor } from "../../src/fleet/wait.js";
import type { Step } from "../../src/lab/plan/steps.js";
import { actionsFor } from "../../src/lab/run/actions.js";
import { executeSteps, type StepEvent } from "../../src/lab/run/executor.js";
import type { FleetGate } from "../../src/lab/run/fleet-steps.js";

const MACHINES: FleetMachine[] = [
  { id: "e0".repeat(16), primaryIP: "172.16.11.10", metadata: { role: "etcd" } },
  { id: "a1".repeat(16), primaryIP: "172.16.11.11", metadata: { role: "kubernetes" } },
  { id: "b2".repeat(16), primaryIP: "172.16.11.12", metadata: { role: "kubernetes" } },
];
const GLOBAL: FleetUnit = {
  name: "g.service",
  desiredState: "launched",
  options: [
    { section: "X-Fleet", name: "Global", value: "true" },
    { section: "X-Fleet", name: "MachineMetadata", value: "role=kubernetes" },
  ],
};
const PLACED: FleetUnit = {
  name: "p.service",
  desiredState: "launched",
  currentState: "launched",
  machineID: MACHINES[1]!.id,
  options: [{ section: "X-Fleet", name: "MachineOf", value: "api.service" }],
};

const state = (name: string, m: number, active: string, sub = "running"): FleetUnitState => ({
  name,
  hash: "h",
  machineID: MACHINES[m]!.id,
  systemdLoadState: "loaded",
  systemdActiveState: active,
  systemdSubState: sub,
});

let bases = 0;
/** A fleet whose /state answers the next entry of `checks` at each read (the last one repeats). */
function fleetThrough(units: FleetUnit[], checks: FleetUnitState[][]) {
  let reads = 0;
  return {
    base: `mem://fleet-${++bases}`,
    reads: () => reads,
    units: async () => units,
    machines: async () => MACHINES,
    state: async () => checks[Math.min(reads++, checks.length - 1)]!,
  };
}

const fast = { block: true, blockAttempts: 0, timeoutMs: 5000, intervalMs: 5, settleMs: 0 };

describe("waiting for units as lab fleet start does", () => {
  it("a unit that is active for one check and then fails is reported failed, not done", async () => {
    const fleet = fleetThrough(
      [PLACED],
      [[state("p.service", 1, "active")], [state("p.service", 1, "failed", "failed")]],
    );
    const pending: string[] = [];
    const err = (await waitFor(fleet, ["p.service"], "launched", {
      ...fast,
      settleMs: 60_000,
      onPending: (_n, s) => pending.push(s),
    }).catch((e) => e)) as FleetApiError;
    expect(err).toBeInstanceOf(FleetApiError);
    expect(err.message).toMatch(/p\.service failed on machine a1a1a1a1/);
    expect(pending).toEqual(["on a1a1a1a1: active/running; checking it stays up for 60 s"]);
  });

  it("a unit that stays active is done once the settle time has passed, checks counted", async () => {
    const fleet = fleetThrough([PLACED], [[state("p.service", 1, "active")]]);
    await waitFor(fleet, ["p.service"], "launched", { ...fast, settleMs: 50 });
    // Active from the first check; done at the first check 50 ms or more later.
    expect(fleet.reads()).toBeGreaterThanOrEqual(2);
  });

  it("with --block-attempts the last check takes an active unit as it is, as fleetctl does", async () => {
    const fleet = fleetThrough([PLACED], [[state("p.service", 1, "active")]]);
    await waitFor(fleet, ["p.service"], "launched", { ...fast, settleMs: 60_000, blockAttempts: 2 });
    expect(fleet.reads()).toBe(2);
  });

  it("a global unit is done only when active on every machine its metadata matches", async () => {
    const fleet = fleetThrough(
      [GLOBAL],
      [
        [],
        [state("g.service", 1, "active")],
        [state("g.service", 1, "active"), state("g.service", 2, "active")],
      ],
    );
    const pending: string[] = [];
    const done: { name: string; on: string[] }[] = [];
    await waitFor(fleet, ["g.service"], "launched", {
      ...fast,
      onPending: (_n, s) => pending.push(s),
      onProgress: (_m, u) => done.push(u),
    });
    expect(pending).toEqual(["active on 0/2 machine(s)", "active on 1/2 machine(s)"]);
    expect(done).toEqual([{ name: "g.service", on: ["172.16.11.11", "172.16.11.12"] }]);
  });

  it("a placed unit waits for systemd to report it active, not for fleet's current state", async () => {
    const fleet = fleetThrough(
      [PLACED],
      [[state("p.service", 1, "activating", "start")], [state("p.service", 1, "active")]],
    );
    const pending: string[] = [];
    await waitFor(fleet, ["p.service"], "launched", { ...fast, onPending: (_n, s) => pending.push(s) });
    expect(pending).toEqual([`on ${MACHINES[1]!.id.slice(0, 8)}: activating/start`]);
  });

  it("a failed unit ends the wait with its machine; a unit that never comes says where it stands", async () => {
    const failing = fleetThrough([PLACED], [[state("p.service", 1, "failed", "failed")]]);
    const err = (await waitFor(failing, ["p.service"], "launched", fast).catch((e) => e)) as FleetApiError;
    expect(err.message).toBe("p.service failed on machine a1a1a1a1 (loaded/failed/failed)");
    expect(err.details).toMatchObject({ unit: "p.service", machineID: MACHINES[1]!.id });

    const never = fleetThrough([GLOBAL], [[state("g.service", 2, "active")]]);
    await expect(waitFor(never, ["g.service"], "launched", { ...fast, blockAttempts: 3 })).rejects.toThrow(
      "timed out waiting for g.service to be launched (g.service: active on 1/2 machine(s))",
    );

    // A placed unit that stays down names its machine, so lab up can show that unit's journal.
    const dead = fleetThrough([PLACED], [[state("p.service", 1, "inactive", "dead")]]);
    const late = (await waitFor(dead, ["p.service"], "launched", { ...fast, blockAttempts: 3 }).catch(
      (e) => e,
    )) as FleetApiError;
    expect(late.message).toBe(
      "timed out waiting for p.service to be launched (p.service: on a1a1a1a1: inactive/dead)",
    );
    expect(late.details).toMatchObject({ pending: ["p.service"], machineID: MACHINES[1]!.id });
  });

  it("concurrent waits on one fleet share each check; a failed read is asked again", async () => {
    const both = [
      state("g.service", 1, "active"),
      state("g.service", 2, "active"),
      state("h.service", 1, "active"),
      state("h.service", 2, "active"),
    ];
    const fleet = fleetThrough([GLOBAL, { ...GLOBAL, name: "h.service" }], [both]);
    // A snapshot is shared while younger than 0.9 × the interval: a long one, so a loaded machine
    // that runs the second wait late still finds the first one's check.
    const shared = { ...fast, intervalMs: 10_000 };
    await Promise.all([
      waitFor(fleet, ["g.service"], "launched", shared),
      waitFor(fleet, ["h.service"], "launched", shared),
    ]);
    expect(fleet.reads()).toBe(1);
    await readSnapshot(fleet, 60_000);
    expect(fleet.reads()).toBe(1);

    let fail = true;
    const flaky = {
      ...fleetThrough([], [[]]),
      units: async () => (fail ? Promise.reject(new Error("503")) : []),
    };
    await expect(readSnapshot(flaky, 60_000)).rejects.toThrow("503");
    fail = false;
    expect((await readSnapshot(flaky, 60_000)).units).toEqual([]);
  });
});

const unitStep = {
  id: "unit/p.service",
  kind: "unit",
  name: "p.service",
  action: "launch",
  detail: "",
  etcdIp: "172.16.11.10",
  options: PLACED.options,
  after: [],
  afterReady: [],
} as Step;

/** `lab up` running one unit step against a stand-in gate; the events and the outcome. */
async function upWithGate(
  gate: Partial<FleetGate>,
  journal?: Parameters<typeof actionsFor>[1]["unitJournal"],
) {
  const events: StepEvent[] = [];
  const launched: string[] = [];
  const full: FleetGate = {
    machines: async () => MACHINES,
    units: async () => [],
    launch: async (name) => void launched.push(name),
    waitActive: async () => "active",
    destroy: async () => undefined,
    ...gate,
  };
  const result = await executeSteps(
    [unitStep],
    (s) => actionsFor(s, { client: {} as LabClient, fleetGate: () => full, unitJournal: journal }),
    { signal: new AbortController().signal, onEvent: (e) => events.push(e) },
  );
  return { events, launched, result };
}

describe("lab up's unit steps", () => {
  it("are done when the unit runs, showing where it stands while waiting", async () => {
    const { events, launched, result } = await upWithGate({
      waitActive: async (_n, w) => {
        w.note?.("active on 0/2 machine(s)");
        return "active on 172.16.11.11, 172.16.11.12";
      },
    });
    expect(launched).toEqual(["p.service"]);
    expect(events.map((e) => [e.state, e.message])).toEqual([
      ["running", undefined],
      ["waiting", "launched in fleet; waiting until it runs"],
      ["waiting", "active on 0/2 machine(s)"],
      ["done", "active on 172.16.11.11, 172.16.11.12"],
    ]);
    expect(result.failed).toBeUndefined();
  });

  it("a unit that fails is reported with the tail of its journal, or why there is none", async () => {
    const failed = new FleetApiError("p.service failed on machine a1a1a1a1 (loaded/failed/failed)", {
      details: { unit: "p.service", machineID: MACHINES[1]!.id },
    });
    const withLines = await upWithGate(
      {
        waitActive: async () => {
          throw failed;
        },
      },
      async (_d, unit, machineID) => {
        expect([unit, machineID]).toEqual(["p.service", MACHINES[1]!.id]);
        return { vm: "node-1", lines: "p.service: boom\nsystemd[1]: p.service: Failed" };
      },
    );
    const e = withLines.result.failed?.error as FleetApiError;
    expect(e.message).toBe(
      "p.service failed on machine a1a1a1a1 (loaded/failed/failed)\nlast journal lines on node-1:\n  | p.service: boom\n  | systemd[1]: p.service: Failed",
    );
    expect(e.hint).toMatch(/lab fleet journal p\.service/);

    const noSsh = await upWithGate(
      {
        waitActive: async () => {
          throw failed;
        },
      },
      async () => ({ unavailable: "lab's ssh key /x is readable by root only" }),
    );
    expect((noSsh.result.failed!.error as Error).message).toBe(
      "p.service failed on machine a1a1a1a1 (loaded/failed/failed); its journal could not be read (lab's ssh key /x is readable by root only)",
    );
  });
});
