// state/steps: a step failing mid-way undoes the earlier ones in reverse order, and an undo that
// fails is reported with the error (details.rollbackFailures) instead of being dropped.
import { afterEach, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { runSteps, type StepEntry, stepNames, withRollback } from "../../src/state/steps.js";
import { fakeHost } from "../helpers/fake-host.js";

describe("withRollback", () => {
  it("undoes the steps done so far in reverse order and rethrows the step's error", async () => {
    const host = fakeHost([{ match: ["qemu-system-x86_64"], exitCode: 1, stderr: "no kvm" }]);
    const err = await withRollback(async (undo) => {
      await host.run(["ovs-vsctl", "add-port", "br0", "tap0"]);
      undo.push("port", async () => void (await host.run(["ovs-vsctl", "del-port", "br0", "tap0"])));
      await host.run(["ip", "tuntap", "add", "tap0"]);
      undo.push("tap", async () => void (await host.run(["ip", "link", "del", "tap0"])));
      await host.run(["qemu-system-x86_64", "-name", "vm1"]);
    }).then(
      () => expect.fail("did not fail"),
      (e: unknown) => e as Error & { details?: Record<string, unknown> },
    );
    expect(err.message).toMatch(/qemu-system-x86_64/);
    expect(err.details?.rollbackFailures).toBeUndefined();
    expect(host.lines()).toEqual([
      "ovs-vsctl add-port br0 tap0",
      "ip tuntap add tap0",
      "qemu-system-x86_64 -name vm1",
      "ip link del tap0",
      "ovs-vsctl del-port br0 tap0",
    ]);
  });

  it("an undo that fails does not stop the others and is reported with the error", async () => {
    const host = fakeHost([{ match: ["ip", "link", "del"], exitCode: 1, stderr: "Cannot find device" }]);
    const err = await withRollback(async (undo) => {
      undo.push("port", async () => void (await host.run(["ovs-vsctl", "del-port", "br0", "tap0"])));
      undo.push("tap", async () => void (await host.run(["ip", "link", "del", "tap0"])));
      throw new ConflictError("the drive could not be written");
    }).then(
      () => expect.fail("did not fail"),
      (e: unknown) => e as ConflictError,
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toBe("the drive could not be written");
    expect(err.details?.rollbackFailures).toEqual([
      expect.stringMatching(/^tap: ip failed with exit code 1: Cannot find device/),
    ]);
    expect(host.lines()).toEqual(["ip link del tap0", "ovs-vsctl del-port br0 tap0"]);
  });

  it("returns the body's value and runs no undo on success", async () => {
    const host = fakeHost();
    const v = await withRollback(async (undo) => {
      undo.push("x", async () => void (await host.run(["false"])));
      return 7;
    });
    expect(v).toBe(7);
    expect(host.calls).toEqual([]);
  });
});

describe("runSteps", () => {
  type S = { log: string[] };
  const step = (name: string, undoFails = false) => ({
    name,
    fault: `test:${name}`,
    async run(s: S) {
      s.log.push(name);
      return async () => {
        s.log.push(`undo ${name}`);
        if (undoFails) throw new Error(`${name} would not go`);
      };
    },
  });
  const failing = (name: string) => ({
    name,
    async run(s: S): Promise<undefined> {
      s.log.push(name);
      throw new ConflictError(`${name} failed`);
    },
  });
  afterEach(() => {
    delete process.env.LAB_FAULTS;
  });

  it("runs the steps in order and undoes none when all succeed", async () => {
    const s: S = { log: [] };
    const started: string[] = [];
    await runSteps([step("a"), step("b"), step("c")], s, { onStep: (n) => started.push(n) });
    expect(s.log).toEqual(["a", "b", "c"]);
    expect(started).toEqual(["a", "b", "c"]);
  });

  it("a failing step undoes the ones before it in reverse, and only those", async () => {
    const s: S = { log: [] };
    const err = await runSteps([step("a"), step("b"), failing("c"), step("d")], s).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(s.log).toEqual(["a", "b", "c", "undo b", "undo a"]);
  });

  it("a step's fault point fails it before it runs", async () => {
    process.env.LAB_FAULTS = "test:b";
    const s: S = { log: [] };
    const err = await runSteps([step("a"), step("b"), step("c")], s).catch((e: Error) => e);
    expect(err?.message).toBe("injected fault at test:b");
    expect(s.log).toEqual(["a", "undo a"]);
  });

  it("steps run together all settle; the undos of those that succeeded run", async () => {
    const s: S = { log: [] };
    const steps: StepEntry<S>[] = [step("a"), { name: "pair", together: [failing("x"), step("y")] }];
    expect(stepNames(steps)).toEqual(["a", "x", "y"]);
    const err = await runSteps(steps, s).catch((e: Error) => e);
    expect(err?.message).toBe("x failed");
    expect(s.log).toEqual(["a", "x", "y", "undo y", "undo a"]);
  });

  it("an undo that fails is reported with the step's error and the other undos still run", async () => {
    const s: S = { log: [] };
    const err = (await runSteps([step("a"), step("b", true), failing("c")], s).catch((e: Error) => e)) as
      | ConflictError
      | undefined;
    expect(err?.message).toBe("c failed");
    expect(err?.details?.rollbackFailures).toEqual(["b: b would not go"]);
    expect(s.log).toEqual(["a", "b", "c", "undo b", "undo a"]);
  });
});
