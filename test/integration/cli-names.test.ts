// Issue 14 items 7-9 through the real CLI, in a namespace this test creates: a lab file with a
// 32-character machine name (hashed tap), the default role and a port forward; the forward reached
// from the host and from an "outside" namespace, refused for a second VM, gone with the VM; VM and
// lab snapshots of two busybox (lab-test) guests, with a file in guest memory and a block on disk.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tapName } from "../../src/state/names.js";
import type { VmStatus } from "../../src/vm/status.js";
import { openConsole } from "../helpers/console.js";
import { waitForReady } from "../helpers/guest.js";
import { createLabEnv, iptablesSave, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs, vethPair } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { waitUntil } from "../helpers/wait.js";

// curl, not busybox wget: the host's static busybox wget crashes (SIGSEGV) on this Debian.
const skip = skipUnless([...VM_TOOLS, "curl"]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const LONG = "web-server-with-a-long-name-of32";
const OTHER = "b2";
const TEST_TIMEOUT = 300_000;

describe.skipIf(skip)("names, port forwards and snapshots (real CLI, qemu, iptables in a namespace)", () => {
  let lab: LabEnv;
  let outside: string;
  let labFile: string;

  /** Runs a shell line on the guest's console and returns what it printed between markers. */
  async function onGuest(vm: string, line: string): Promise<string> {
    const con = await openConsole(lab, vm);
    const tag = Math.random().toString(36).slice(2, 8);
    con.write(`echo B-${tag}; ${line}; echo E-${tag}\r`);
    await con.waitFor(new RegExp(`\\nE-${tag}`), 60_000);
    const screen = con.screen();
    await con.detach();
    return screen.slice(screen.lastIndexOf(`B-${tag}`) + 8, screen.lastIndexOf(`E-${tag}`)).trim();
  }
  /** Guest state: a file in RAM (/tmp, initramfs) and a block on its disk. */
  const setState = (vm: string, v: string) =>
    onGuest(
      vm,
      `echo ${v} > /tmp/state; printf ${v} | dd of=/dev/vda bs=512 seek=4096 conv=sync,fsync 2>/dev/null`,
    );
  const getState = (vm: string) =>
    onGuest(
      vm,
      `echo "mem=$(cat /tmp/state) disk=$(dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | tr -d '\\000')"`,
    );

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    lab = await createLabEnv(await createNetns("labN"));
    outside = await createNetns("labO");
    await vethPair(lab.ns, "up0", outside, "out0");
    await inNs(lab.ns, ["ip", "addr", "add", "10.99.0.1/24", "dev", "up0"]);
    await inNs(outside, ["ip", "addr", "add", "10.99.0.2/24", "dev", "out0"]);
    labFile = path.join(lab.home, "..", "lab.yaml");
    await writeFile(
      labFile,
      [
        "networks:",
        "  - name: default",
        "    subnet: 172.16.11.0/24",
        "images:",
        "  - name: lab-test",
        `    import: ${bundle}`,
        "machines:",
        `  - name: ${LONG}`,
        "    ports: ['8088:80']",
        `  - name: ${OTHER}`,
        "",
      ].join("\n"),
    );
    await lab.lab(["up", "-f", labFile]);
    await Promise.all([waitForReady(lab.run, LONG), waitForReady(lab.run, OTHER)]);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it("takes a 32-character name with a hashed tap and the plain role by default", async () => {
    const s = await lab.labJson<VmStatus>(["vm", "show", LONG]);
    expect(s).toMatchObject({ state: "running", role: "plain", ports: ["8088:80/tcp"] });
    expect(s.tap).toMatch(/^lab_[0-9a-f]{11}$/);
    expect(s.tap).toBe(tapName(LONG));
    expect(await links(lab.ns)).toContain(s.tap);
    expect((await lab.labJson<VmStatus>(["vm", "show", OTHER])).tap).toBe("lab-b2");
    const bad = await lab.lab(["vm", "create", `${LONG}x`, "--no-start"], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/invalid VM name/);
  });

  it(
    "forwards the host port to the guest, from the host and from outside, and refuses it twice",
    async () => {
      await onGuest(
        LONG,
        "mkdir -p /tmp/www && echo hello-from-vm > /tmp/www/index.html && httpd -p 80 -h /tmp/www",
      );
      for (const [ns, url] of [
        [lab.ns, "http://172.16.11.1:8088/"],
        [outside, "http://10.99.0.1:8088/"],
      ] as const) {
        const body = await waitUntil(
          async () => {
            const r = await inNs(ns, ["curl", "-sf", "-m", "5", url], { reject: false });
            return r.exitCode === 0 && String(r.stdout);
          },
          { what: `${url} from ${ns}`, timeout: 60_000, interval: 1000 },
        );
        expect(body.trim()).toBe("hello-from-vm");
      }
      // The VM's own address stays closed from outside: only the DNATed connection is let in.
      await inNs(outside, ["ip", "route", "add", "172.16.11.0/24", "via", "10.99.0.1"]);
      const direct = await inNs(outside, ["curl", "-sf", "-m", "3", "http://172.16.11.10/"], {
        reject: false,
      });
      expect(direct.exitCode).not.toBe(0);
      const again = await lab.lab(["vm", "create", "other", "--publish", "8088:81", "--no-start"], {
        reject: false,
      });
      expect(again.exitCode).toBe(4);
      expect(again.stderr).toMatch(/8088\/tcp is already published by VM web-server/);
      expect((await lab.labJson<VmStatus[]>(["vm", "list"])).map((v) => v.name).sort()).toEqual(
        [OTHER, LONG].sort(),
      );
    },
    TEST_TIMEOUT,
  );

  it(
    "saves and restores one VM's memory and disk",
    async () => {
      await setState(LONG, "one");
      await lab.lab(["vm", "snapshot", "save", LONG, "s1"]);
      const list = await lab.labJson<{ name: string; vmStateBytes: number }[]>([
        "vm",
        "snapshot",
        "list",
        LONG,
      ]);
      expect(list.map((s) => s.name)).toEqual(["s1"]);
      expect(list[0]!.vmStateBytes).toBeGreaterThan(0);
      await setState(LONG, "two");
      expect(await getState(LONG)).toBe("mem=two disk=two");
      await lab.lab(["vm", "snapshot", "restore", LONG, "s1"]);
      expect(await getState(LONG)).toBe("mem=one disk=one");
      const taken = await lab.lab(["vm", "snapshot", "save", LONG, "s1"], { reject: false });
      expect(taken.exitCode).toBe(4);
      await lab.lab(["vm", "snapshot", "rm", LONG, "s1"]);
      expect(await lab.labJson<unknown[]>(["vm", "snapshot", "list", LONG])).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    "snapshots the whole lab at once; a restore naming a missing snapshot changes no VM",
    async () => {
      await Promise.all([setState(LONG, "l1"), setState(OTHER, "l1")]);
      await lab.lab(["snapshot", "save", "lab1", "-f", labFile]);
      await Promise.all([setState(LONG, "l2"), setState(OTHER, "l2")]);
      // OTHER has lab2, LONG has not: the restore must fail before it touches OTHER.
      await lab.lab(["vm", "snapshot", "save", OTHER, "lab2"]);
      await setState(OTHER, "l3");
      const missing = await lab.lab(["snapshot", "restore", "lab2", "-f", labFile], { reject: false });
      expect(missing.exitCode).toBe(3);
      expect(missing.stderr).toMatch(/has no snapshot lab2[\s\S]*no VM was changed/);
      expect(await getState(OTHER)).toBe("mem=l3 disk=l3");
      expect(await getState(LONG)).toBe("mem=l2 disk=l2");
      await lab.lab(["snapshot", "restore", "lab1", "-f", labFile]);
      expect(await getState(LONG)).toBe("mem=l1 disk=l1");
      expect(await getState(OTHER)).toBe("mem=l1 disk=l1");
      for (const vm of [LONG, OTHER]) {
        const s = await lab.labJson<VmStatus>(["vm", "show", vm]);
        expect(s.state).toBe("running");
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "rm removes the VM, its tap and its forward rules",
    async () => {
      const tap = tapName(LONG);
      await lab.lab(["rm", LONG]);
      expect(await links(lab.ns)).not.toContain(tap);
      const rules = await iptablesSave(lab.ns);
      expect(rules.filter((r) => r.includes("lab-port") || r.includes("LAB-PORTS"))).toEqual([]);
      expect(rules.some((r) => r.includes("LAB-FORWARD"))).toBe(true);
    },
    TEST_TIMEOUT,
  );
});
