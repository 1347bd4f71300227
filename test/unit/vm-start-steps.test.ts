// vm/start-steps and vm/create-steps with a recording fake host: the steps run in order, a
// failure at any step undoes exactly the steps done, in reverse, an undo that fails is reported,
// and a create resolves its image and renders its user_data once. File tools (qemu-img,
// genisoimage, ssh-keygen) run for real in a temp directory; network tools are only recorded.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderCloudConfig } from "../../src/cloudconfig/render.js";
import type { LabContext } from "../../src/context.js";
import { createHost } from "../../src/host/host.js";
import { resolveImage } from "../../src/image/resolve.js";
import type { Reservation } from "../../src/net/dnsmasq-config.js";
import { LedgerStore, type NetworkSpec } from "../../src/state/ledger.js";
import { tapName } from "../../src/state/names.js";
import { paths } from "../../src/state/paths.js";
import { runSteps, type StepEntry, stepNames } from "../../src/state/steps.js";
import { createVm } from "../../src/vm/create.js";
import { type CreateState, createSteps } from "../../src/vm/create-steps.js";
import { type StartState, startSteps } from "../../src/vm/start-steps.js";
import { type FakeHost, fakeHost } from "../helpers/fake-host.js";

vi.mock("../../src/image/resolve.js", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/image/resolve.js")>();
  return { ...m, resolveImage: vi.fn(m.resolveImage) };
});
vi.mock("../../src/cloudconfig/render.js", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/cloudconfig/render.js")>();
  return { ...m, renderCloudConfig: vi.fn(m.renderCloudConfig) };
});

const VM = "web";
const TAP = tapName(VM);
const NET: NetworkSpec = {
  name: "default",
  subnet: "10.99.0.0/24",
  gateway: "10.99.0.1",
  prefix: 24,
  bridge: "labbr-t",
  domain: "lab",
  dhcpStart: "10.99.0.100",
  dhcpEnd: "10.99.0.200",
  createdAt: "2026-01-01T00:00:00Z",
};
const LOCAL_TOOLS = new Set(["qemu-img", "genisoimage", "ssh-keygen"]);

let base: string;
let ctx: LabContext;
let host: FakeHost;
let reloads: string[][];
/** dnsmasq reloads that succeed; the ones after fail. */
let reloadsAllowed: number;
let watched: string[];

/** Records every program; runs the file tools for real, answers the network tools as the fake does. */
function recordingHost(): FakeHost {
  // The tap does not exist; every other link (the bridge) does.
  const fake = fakeHost([{ match: ["ip", "-j", "link", "show", "dev", TAP], exitCode: 1 }]);
  const real = createHost();
  const fakeRun = fake.run;
  fake.run = async (argv, o) => {
    if (!LOCAL_TOOLS.has(argv[0]!)) return fakeRun(argv, o);
    fake.calls.push([...argv]);
    return real.run(argv, o);
  };
  return fake;
}

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), "lab-steps-"));
  const p = paths({ home: path.join(base, "home"), run: path.join(base, "run") });
  const img = p.image("img");
  await mkdir(img.dir, { recursive: true });
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(img.dir, "disk.qcow2"), "16M"]);
  await writeFile(path.join(img.dir, "vmlinuz"), "kernel");
  await writeFile(path.join(img.dir, "initrd"), "initrd");
  const manifest = {
    name: "img",
    format: "qcow2",
    disk: "disk.qcow2",
    boot: { kernel: "vmlinuz", initrd: "initrd", cmdline: "console=ttyS0" },
    fleet: false,
    guest: "lab-test",
    importedAt: "2026-01-01T00:00:00Z",
  };
  await writeFile(img.manifest, JSON.stringify(manifest));
  await mkdir(p.home, { recursive: true });
  const ledger = await LedgerStore.open(p.ledger);
  await ledger.update((l) => {
    l.networks[NET.name] = NET;
  });
  host = recordingHost();
  reloads = [];
  reloadsAllowed = Number.POSITIVE_INFINITY;
  watched = [];
  ctx = {
    host,
    paths: p,
    ledger,
    events: { emit: () => undefined },
    ovs: {
      describe: () => ({ kind: "host", dbSock: "/nonexistent/db.sock", datapath: "system" }),
      privateRunning: () => ({ db: false, vswitchd: false }),
    },
    dnsmasq: {
      reload: async (_net: NetworkSpec, r: Reservation[]) => {
        if (reloads.length >= reloadsAllowed) throw new Error("dnsmasq would not reload");
        reloads.push(r.map((x) => x.name));
      },
    },
    watcher: {
      watch: (name: string, pid: number) => watched.push(`${name}:${pid}`),
      forget: () => undefined,
    },
  } as unknown as LabContext;
  vi.mocked(resolveImage).mockClear();
  vi.mocked(renderCloudConfig).mockClear();
});
afterEach(async () => {
  delete process.env.LAB_FAULTS;
  await rm(base, { recursive: true, force: true });
});

/** The start steps with "ready" answered at once: the fake host's qemu is no process to wait for. */
function steps<S extends StartState>(list: StepEntry<S>[]): StepEntry<S>[] {
  return list.map((s) =>
    s.name === "ready"
      ? {
          name: "ready",
          fault: "vm-start:ready",
          run: async (st: S) => {
            st.pid = st.child!.pid;
          },
        }
      : s,
  );
}

async function createdState(): Promise<StartState> {
  await createVm(ctx, { name: VM, image: "img", accel: "tcg", noStart: true });
  const l = ctx.ledger.read();
  return { ctx, spec: l.vms[VM]!, id: l.identities[VM]!, net: NET, fresh: false };
}

async function run<S>(list: StepEntry<S>[], state: S) {
  const started: string[] = [];
  const undone: string[] = [];
  const err = await runSteps(list, state, {
    onStep: (n) => started.push(n),
    onUndo: (n) => undone.push(n),
  }).then(
    () => undefined,
    (e: Error & { details?: Record<string, unknown> }) => e,
  );
  return { started, undone, err };
}

const ORDER = ["network", "image", "accel", "dns", "overlay", "tap", "drive", "qemu", "ready", "record"];

describe("VM start steps", () => {
  it("run in order; the image is resolved and the user_data rendered once", async () => {
    const state = await createdState();
    vi.mocked(resolveImage).mockClear();
    vi.mocked(renderCloudConfig).mockClear();
    host.calls.length = 0;
    expect(stepNames(startSteps())).toEqual(ORDER);
    const r = await run(steps(startSteps()), state);
    expect(r.err).toBeUndefined();
    expect(r.started).toEqual(ORDER);
    expect(vi.mocked(resolveImage).mock.calls).toHaveLength(1);
    expect(vi.mocked(renderCloudConfig).mock.calls).toHaveLength(1);
    const lines = host.lines();
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at(`ip tuntap add dev ${TAP}`)).toBeGreaterThan(-1);
    expect(at("genisoimage")).toBeGreaterThan(-1);
    expect(at("qemu-system-x86_64")).toBeGreaterThan(Math.max(at("ip tuntap add"), at("genisoimage")));
    expect(lines.find((l) => l.startsWith("qemu-system-x86_64"))).toMatch(/-accel tcg/);
    expect(watched).toEqual([`${VM}:424242`]);
    expect(ctx.ledger.read().vms[VM]?.wantRunning).toBe(true);
  });

  // The undos recorded by the time each step fails, in the order they run.
  const undoneAt: Record<string, string[]> = {
    network: [],
    image: [],
    accel: [],
    dns: [],
    overlay: [],
    tap: ["overlay"], // the drive runs on beside the tap and has nothing to undo
    drive: ["tap", "overlay"],
    qemu: ["tap", "overlay"],
    ready: ["qemu", "tap", "overlay"],
    record: ["qemu", "tap", "overlay"],
  };
  for (const [at, undone] of Object.entries(undoneAt)) {
    it(`a failure at ${at} undoes ${undone.join(", ") || "nothing"}, in reverse`, async () => {
      const state = await createdState();
      process.env.LAB_FAULTS = `vm-start:${at}`;
      host.calls.length = 0;
      const r = await run(steps(startSteps()), state);
      expect(r.err?.message).toBe(`injected fault at vm-start:${at}`);
      // The drive, run beside the tap, starts even when the tap fails.
      const last = at === "tap" ? "drive" : at;
      expect(r.started).toEqual(ORDER.slice(0, ORDER.indexOf(last) + 1));
      expect(r.undone).toEqual(undone);
      // A start of a VM that exists keeps its disk and drive; the tap goes when it was made.
      expect(existsSync(ctx.paths.vm(VM).disk)).toBe(true);
      const delPort = host.lines().some((l) => l.includes(`del-port ${TAP}`));
      expect(delPort).toBe(undone.includes("tap"));
      expect(ctx.ledger.read().vms[VM]?.wantRunning).toBe(false);
    });
  }
});

describe("VM create steps", () => {
  async function createState(): Promise<CreateState> {
    const spec = (await createdState()).spec;
    const id = ctx.ledger.read().identities[VM]!;
    // The same VM, as a create sees it before its ledger step.
    await rm(ctx.paths.vm(VM).dir, { recursive: true, force: true });
    await ctx.ledger.update((l) => {
      delete l.vms[VM];
      delete l.identities[VM];
    });
    reloads.length = 0;
    return { ctx, spec, id, net: NET, fresh: true };
  }

  it("a start failing in a create leaves no ledger entry, files or reservation", async () => {
    const state = await createState();
    process.env.LAB_FAULTS = "vm-start:ready";
    const r = await run(steps(createSteps(false)), state);
    expect(r.err?.message).toBe("injected fault at vm-start:ready");
    expect(r.undone).toEqual(["qemu", "tap", "overlay", "ports", "ledger"]);
    expect(ctx.ledger.read().vms[VM]).toBeUndefined();
    expect(ctx.ledger.read().identities[VM]).toBeUndefined();
    expect(existsSync(ctx.paths.vm(VM).dir)).toBe(false);
    // Reserved by the dns step, released by the ledger's undo after the entry was gone.
    expect(reloads).toEqual([[VM], []]);
  });

  it("an undo that fails is reported with the error; the undos before it still ran", async () => {
    const state = await createState();
    process.env.LAB_FAULTS = "vm-start:qemu";
    reloadsAllowed = 1; // the dns step's reload; the ledger undo's fails
    const r = await run(steps(createSteps(false)), state);
    expect(r.err?.message).toBe("injected fault at vm-start:qemu");
    expect(r.err?.details?.rollbackFailures).toEqual(["ledger: dnsmasq would not reload"]);
    expect(r.undone).toEqual(["tap", "overlay", "ports", "ledger"]);
    expect(ctx.ledger.read().vms[VM]).toBeUndefined();
  });

  it("createVm resolves the image once and renders the user_data once, and a failed start leaves nothing", async () => {
    process.env.LAB_FAULTS = "vm-start:qemu";
    await expect(createVm(ctx, { name: VM, image: "img", accel: "tcg" })).rejects.toThrow(
      "injected fault at vm-start:qemu",
    );
    expect(vi.mocked(resolveImage).mock.calls).toHaveLength(1);
    expect(vi.mocked(renderCloudConfig).mock.calls).toHaveLength(1);
    expect(ctx.ledger.read().vms[VM]).toBeUndefined();
    expect(ctx.ledger.read().identities[VM]).toBeUndefined();
    expect(existsSync(ctx.paths.vm(VM).dir)).toBe(false);
    expect(host.lines().some((l) => l.includes(`del-port ${TAP}`))).toBe(true);
  });
});
