// The CLI's pure pieces of issue 14: escaping guest output, dating and picking log lines, the
// events filter, --wait's duration, sizes and rates, colour rules, undos an error reports,
// conflicts that name fields, the file-less views, and labd's log time marks on a real directory.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { colourOn, paint } from "../../src/cli/colour.js";
import { escapeControl } from "../../src/cli/escape.js";
import { eventFilter, historyEvents } from "../../src/cli/events-filter.js";
import { EXIT_CODES } from "../../src/cli/exit-codes.js";
import { formatSize, speedAndEta } from "../../src/cli/format.js";
import { datedLines, formatLine, parseSince, selectLines } from "../../src/cli/logs.js";
import { reportError } from "../../src/cli/output.js";
import { parseWait } from "../../src/cli/wait.js";
import { ConflictError } from "../../src/errors.js";
import { globalRows, globalStatus, removeAllPlan } from "../../src/lab/global.js";
import type { VmSpec } from "../../src/state/ledger.js";
import { qemuSaid } from "../../src/vm/kvm-probe.js";
import { markLogTimes, readTimes } from "../../src/vm/log-times.js";
import { specDifferences } from "../../src/vm/same-spec.js";

describe("guest output for a terminal", () => {
  it("shows control characters as escapes and keeps newline and tab", () => {
    expect(escapeControl("a\x1b[6nb\tc\r\n")).toBe("a\\x1b[6nb\tc\n");
    expect(escapeControl("bell\x07 del\x7f csi\u009b lone\rcr")).toBe(
      "bell\\x07 del\\x7f csi\\x9b lone\\x0dcr",
    );
    expect(escapeControl("plain ü €\n")).toBe("plain ü €\n");
  });
});

describe("vm logs lines", () => {
  const log = Buffer.from("one\ntwo\nthree\nfour");
  const marks = [
    { time: "2026-01-01T00:00:01.000Z", size: 8 },
    { time: "2026-01-01T00:00:05.000Z", size: 14 },
  ];
  it("dates each line by the first mark that reaches its end; later lines get the fallback", () => {
    const lines = datedLines(log, marks, "2026-01-01T00:00:09.000Z");
    expect(lines.map((l) => [l.text, l.time])).toEqual([
      ["one\n", "2026-01-01T00:00:01.000Z"],
      ["two\n", "2026-01-01T00:00:01.000Z"],
      ["three\n", "2026-01-01T00:00:05.000Z"],
      ["four", "2026-01-01T00:00:09.000Z"],
    ]);
    const undated = datedLines(Buffer.from("x\n"), [], null);
    expect(selectLines(undated, 0)).toEqual([]);
  });
  it("selects --since, then the last N, and prefixes -t times", () => {
    const lines = datedLines(log, marks, "2026-01-01T00:00:09.000Z");
    const since = Date.parse("2026-01-01T00:00:04.000Z");
    expect(selectLines(lines, since).map((l) => l.text)).toEqual(["three\n", "four"]);
    expect(selectLines(lines, undefined, 1).map((l) => l.text)).toEqual(["four"]);
    expect(selectLines(lines, undefined, 0)).toEqual([]);
    expect(formatLine({ text: "a\x1b\n", time: "T" }, { timestamps: true })).toBe("T a\\x1b\n");
    expect(formatLine({ text: "a\x1b\n", time: null }, { raw: true })).toBe("a\x1b\n");
  });
  it("reads --since as a duration back from now or as a date", () => {
    expect(parseSince("10m", 1_000_000)).toBe(400_000);
    expect(parseSince("2026-01-01T00:00:00Z")).toBe(Date.parse("2026-01-01T00:00:00Z"));
    expect(() => parseSince("yesterday")).toThrow(/--since takes/);
  });
});

describe("labd's log time marks", () => {
  it("appends a mark when a log grows and starts over when it shrinks", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lab-marks-"));
    const log = path.join(dir, "n1.log");
    const known = new Map<string, number>();
    await writeFile(log, "hello\n");
    await markLogTimes(dir, known, new Date("2026-01-01T00:00:00Z"));
    await markLogTimes(dir, known, new Date("2026-01-01T00:00:01Z"));
    await writeFile(log, "hello\nworld\n");
    await markLogTimes(dir, known, new Date("2026-01-01T00:00:02Z"));
    expect(await readTimes(log)).toEqual([
      { time: "2026-01-01T00:00:00.000Z", size: 6 },
      { time: "2026-01-01T00:00:02.000Z", size: 12 },
    ]);
    await writeFile(log, "x\n");
    await markLogTimes(dir, new Map(), new Date("2026-01-01T00:00:03Z"));
    expect(await readFile(`${log}.times`, "utf8")).toBe("2026-01-01T00:00:03.000Z 2\n");
  });
});

describe("events filter", () => {
  const text = [
    { time: "2026-01-01T00:00:00Z", type: "vm.created", vm: "a" },
    { time: "2026-01-01T00:01:00Z", type: "network.up", network: "default" },
    { time: "2026-01-01T00:02:00Z", type: "vm.started", vm: "b" },
  ]
    .map((e) => JSON.stringify(e))
    .concat("{cut sho")
    .join("\n");
  const types = (opts: Parameters<typeof eventFilter>[0]) =>
    historyEvents(text, eventFilter(opts)).map((e) => e.type);
  it("follows without history unless --since, -n or --no-follow", () => {
    expect(types({})).toEqual([]);
    expect(types({ follow: false })).toEqual(["vm.created", "network.up", "vm.started"]);
    expect(types({ tail: "1" })).toEqual(["vm.started"]);
    expect(types({ since: "2026-01-01T00:01:00Z" })).toEqual(["network.up", "vm.started"]);
  });
  it("filters by --type (exact or group) and --vm", () => {
    expect(types({ follow: false, type: ["vm.*"] })).toEqual(["vm.created", "vm.started"]);
    expect(types({ follow: false, type: ["vm"] })).toEqual(["vm.created", "vm.started"]);
    expect(types({ follow: false, type: ["network.up"] })).toEqual(["network.up"]);
    expect(types({ follow: false, vm: "b" })).toEqual(["vm.started"]);
    expect(() => eventFilter({ type: ["VM!"] })).toThrow(/--type/);
  });
});

describe("small formats", () => {
  it("--wait takes nothing, seconds or a unit", () => {
    expect(parseWait(undefined)).toBeUndefined();
    expect(parseWait(true)).toEqual({});
    expect(parseWait("90")).toEqual({ timeoutMs: 90_000 });
    expect(parseWait("5m")).toEqual({ timeoutMs: 300_000 });
    expect(() => parseWait("node1")).toThrow(/--wait takes a duration/);
  });
  it("sizes under 1 MiB are KiB; rates come with time left", () => {
    expect(formatSize(512 * 1024)).toBe("512.0 KiB");
    expect(formatSize(3 * 1024 * 1024)).toBe("3.0 MiB");
    expect(formatSize(2 * 1024 ** 3)).toBe("2.0 GiB");
    expect(speedAndEta(10 * 1024 * 1024, 40 * 1024 * 1024, 0, 10_000)).toBe("1.0 MiB/s, 30s left");
    expect(speedAndEta(0, 100, 0, 10_000)).toBe("");
  });
  it("colour only on a terminal and never with NO_COLOR", () => {
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect(colourOn({ isTTY: false })).toBe(false);
      expect(paint("red", "x", { isTTY: true })).not.toBe("x");
      process.env.NO_COLOR = "1";
      expect(colourOn({ isTTY: true })).toBe(false);
      expect(paint("red", "x", { isTTY: true })).toBe("x");
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
  it("doctor quotes qemu's last lines", () => {
    expect(
      qemuSaid("\nCould not access KVM kernel module: Permission denied\nfailed to initialize kvm\n"),
    ).toBe("; qemu said: Could not access KVM kernel module: Permission denied / failed to initialize kvm");
    expect(qemuSaid("")).toBe("");
  });
  it("an error prints each undo that failed after its hint, and keeps its exit code", () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s) => out.push(String(s)) > 0);
    let code: number;
    try {
      const details = { rollbackFailures: ["tap: ovs-vsctl failed", "ledger: disk full"] };
      code = reportError(new ConflictError("the drive could not be written", { hint: "h", details }), {});
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(4);
    expect(out.join("").split("\n").slice(1, 4)).toEqual([
      "hint: h",
      "not undone: tap: ovs-vsctl failed",
      "not undone: ledger: disk full",
    ]);
  });

  it("the exit code table is sorted and has one line per code", () => {
    const codes = EXIT_CODES.map(([c]) => c);
    expect(codes).toEqual([...new Set(codes)].sort((a, b) => a - b));
  });
});

describe("conflicts and the file-less views", () => {
  it("a VM conflict names each field that differs", () => {
    const a = { role: "etcd", image: "i", memoryMiB: 256, cpus: 1, network: "default" } as VmSpec as never;
    expect(specDifferences(a, { ...(a as object) })).toEqual([]);
    expect(specDifferences(a, { ...(a as object), role: "kubernetes", cpus: 2 })).toEqual([
      { what: "role", have: "etcd", want: "kubernetes" },
      { what: "cpus", have: 1, want: 2 },
    ]);
  });
  it("lists networks, VMs and images with nulls, and removes VMs before networks", () => {
    const s = globalStatus(
      [
        {
          network: { name: "default", subnet: "10.0.0.0/24", bridge: "labbr0", domain: "lab" },
          bridge: true,
          dnsmasqPid: 5,
        } as never,
        {
          network: { name: "nodns", subnet: "10.0.1.0/24", bridge: "labbr1", domain: "lab" },
          bridge: true,
          dnsmasqPid: null, // dnsmasq not running, as labd answers it
        } as never,
      ],
      [{ name: "n1", state: "stopped", role: "etcd", network: "default", image: "lab-test" } as never],
      [{ name: "lab-test", usedBy: ["n1"] } as never],
    );
    expect(s.vms[0]).toEqual({
      name: "n1",
      state: "stopped",
      role: "etcd",
      network: "default",
      ip: null,
      image: "lab-test",
      uptimeSeconds: null,
    });
    expect(s.networks[0]!.vms).toEqual(["n1"]);
    expect(s.networks.map((n) => n.state)).toEqual(["up", "degraded"]);
    expect(globalRows(s).map((r) => r[0])).toEqual(["network", "network", "vm", "image"]);
    expect(removeAllPlan(s).map((r) => `${r.kind} ${r.name}`)).toEqual([
      "vm n1",
      "network default",
      "network nodns",
    ]);
  });
});
