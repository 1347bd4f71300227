// state/undo: a step failing mid-way undoes the earlier ones in reverse order, and an undo that
// fails is reported with the error (details.rollbackFailures) instead of being dropped.
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { withRollback } from "../../src/state/undo.js";
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
