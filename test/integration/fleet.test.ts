// A fleet cluster of Flatcar-shaped guests (one etcd machine, two kubernetes machines) booted by
// lab in a namespace this test creates, etcd and fleetd installed from the lab mirror; `lab fleet`
// against it, checked with the upstream fleetctl.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FleetMachine } from "../../src/fleet/api.js";
import type { UnitRow } from "../../src/fleet/ops.js";
import { FLATCAR_BUNDLE, importFlatcar, requireFlatcarBundle } from "../helpers/flatcar.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";

const skip = skipUnless(["qemu-system-x86_64", "ovs-vswitchd", "dnsmasq"]);
// Flatcar's coreos-cloudinit build; CoreOS's v1.14.0 (LAB_CLOUDINIT_BUILD=coreos) only when such a
// bundle was built (LAB_TEST_COREOS_BUNDLE): it adds little over Flatcar's for CI's time.
const VARIANTS = [
  { build: "flatcar", bundle: FLATCAR_BUNDLE },
  ...(process.env.LAB_TEST_COREOS_BUNDLE
    ? [{ build: "coreos", bundle: process.env.LAB_TEST_COREOS_BUNDLE }]
    : []),
];
const ENDPOINT = "http://172.16.11.10:49153";
// LAB_RECORD_FIXTURES=1 re-records the fleet API fixtures of the unit tests from this cluster.
const record = process.env.LAB_RECORD_FIXTURES === "1";
const fixtures = path.join(repoRoot, "test/fixtures/fleet-v1.0.0");

const UNITS: Record<string, string> = {
  "hello-global.service":
    "[Service]\nExecStart=/bin/sleep 3600\n[X-Fleet]\nGlobal=true\nMachineMetadata=role=kubernetes\n",
  "hello-api.service": "[Service]\nExecStart=/bin/sleep 3600\n[X-Fleet]\nMachineMetadata=role=kubernetes\n",
  "hello-sidecar.service": "[Service]\nExecStart=/bin/sleep 3600\n[X-Fleet]\nMachineOf=hello-api.service\n",
  "bad-combo.service":
    "[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\nMachineOf=hello-api.service\n",
  "bad-syntax.service": "[Service]\nthis is not a unit line\n",
  "upstream-probe.service":
    "[Service]\nExecStart=/bin/sleep 3600\n[X-Fleet]\nMachineMetadata=role=kubernetes\n",
};

for (const { build, bundle } of VARIANTS)
  describe.skipIf(skip)(
    `lab fleet against a real fleet cluster (fleetd v1.0.0, ${build} coreos-cloudinit)`,
    () => {
      let lab: LabEnv;
      let units: string;
      const fleet = (args: string[], opts: { reject?: boolean } = {}) =>
        lab.lab(["fleet", "--endpoint", ENDPOINT, ...args], opts);
      const recordPhase = async (phase: string) => {
        if (record)
          await inNs(lab.ns, [
            process.execPath,
            path.join(repoRoot, "scripts/record-fleet-fixtures.mjs"),
            ENDPOINT,
            fixtures,
            phase,
          ]);
      };
      const fleetctl = async (args: string[]) =>
        String((await inNs(lab.ns, [sharedBin("fleetctl"), "--endpoint", ENDPOINT, ...args])).stdout);

      beforeAll(async () => {
        requireFlatcarBundle(bundle);
        units = await mkdtemp(path.join(tmpdir(), "lab-units-"));
        for (const [name, text] of Object.entries(UNITS)) await writeFile(path.join(units, name), text);
        lab = await createLabEnv(await createNetns("labF"));
        await lab.lab(["net", "up"]);
        await importFlatcar(lab, bundle);
        const images = JSON.parse((await lab.lab(["image", "list", "--json"])).stdout);
        expect(images[0].cloudinit).toBe(build);
        await lab.lab(["vm", "create", "etcd", "--role", "etcd", "--ip", "172.16.11.10", "--memory", "512"]);
        await lab.lab(["vm", "create", "node1", "--role", "kubernetes", "--memory", "512"]);
        await lab.lab([
          "vm",
          "create",
          "node2",
          "--role",
          "kubernetes",
          "--memory",
          "512",
          "--config-drive",
          "9p",
        ]);
      });

      afterAll(async () => {
        await lab?.cleanup();
        await deleteAllNetns();
        if (units) await rm(units, { recursive: true, force: true });
      });

      it("sees three machines with distinct IDs, their lab IPs and roles (lab and upstream fleetctl agree)", async () => {
        const deadline = Date.now() + 300_000;
        let machines: FleetMachine[] = [];
        while (Date.now() < deadline) {
          // One quick look per round: this loop is the wait (lab's own retries would nest in it).
          const r = await lab.lab(
            ["fleet", "--endpoint", ENDPOINT, "--retry-for", "0", "list-machines", "--json"],
            {
              reject: false,
            },
          );
          machines = r.exitCode === 0 ? JSON.parse(r.stdout) : [];
          if (machines.length === 3) break;
          await new Promise((res) => setTimeout(res, 2000));
        }
        const view = machines.map((m) => [m.primaryIP, m.metadata?.role]).sort();
        expect(view).toEqual([
          ["172.16.11.10", "etcd"],
          ["172.16.11.11", "kubernetes"],
          ["172.16.11.12", "kubernetes"],
        ]);
        expect(new Set(machines.map((m) => m.id)).size).toBe(3);
        const upstream = (await fleetctl(["list-machines", "--full", "--no-legend"])).trim().split("\n");
        if (build === "flatcar") await recordPhase("empty");
        expect(upstream.map((l) => l.split(/\s+/)[0]).sort()).toEqual(machines.map((m) => m.id).sort());
      }, 330_000);

      it("refuses bad input before sending anything to fleet", async () => {
        const before = await fleetctl(["list-unit-files", "--no-legend", "--full"]);
        const cases: [string[], RegExp][] = [
          [["start", "--units-dir", units, "nothing-*.service"], /no unit .* matches nothing-\*\.service/],
          [["start", "--units-dir", units, "bad-combo.service"], /Global=true cannot be combined/],
          [["start", "--units-dir", units, "bad-syntax.service"], /bad-syntax.service:2: expected KEY=VALUE/],
        ];
        for (const [args, message] of cases) {
          const r = await fleet(args, { reject: false });
          expect(r.exitCode, args.join(" ")).not.toBe(0);
          expect(r.stderr).toMatch(message);
        }
        const unreachable = await lab.lab(["fleet", "--endpoint", "http://127.0.0.1:1", "list-machines"], {
          reject: false,
        });
        expect(unreachable.exitCode).toBe(8);
        expect(unreachable.stderr).toMatch(/fleet at http:\/\/127\.0\.0\.1:1 is unreachable/);
        expect(unreachable.stderr).toMatch(/hint:/);
        // Nothing listens on the fleet port of the namespace's loopback: refused, retried, bounded.
        const refused = await lab.lab(
          ["fleet", "--endpoint", "http://127.0.0.1:49153", "--retry-for", "2", "list-machines"],
          { reject: false },
        );
        expect(refused.exitCode).toBe(8);
        expect(refused.stderr).toMatch(
          /is unreachable .*ECONNREFUSED.*; gave up after \d+ attempts over \d s/,
        );
        expect(await fleetctl(["list-unit-files", "--no-legend", "--full"])).toBe(before);
      });

      it("starts units where fleet's rules put them, active under the guests' systemd", async () => {
        await fleet(["start", "--units-dir", units, "hello-*.service", "--timeout", "170"]);
        // start returned once every unit was active where fleet put it; a loaded TCG guest can
        // still miss a fleet heartbeat for a moment, so the listing is read until it is complete.
        const listed = async () => JSON.parse((await fleet(["list-units", "--json"])).stdout) as UnitRow[];
        let rows = await listed();
        for (let i = 0; i < 30 && rows.filter((r) => r.active === "active").length < 4; i++) {
          await new Promise((res) => setTimeout(res, 2000));
          rows = await listed();
        }
        const where = (unit: string) =>
          rows.filter((r) => r.unit === unit).map((r) => r.machine.split("/")[1]);
        expect(where("hello-global.service").sort()).toEqual(["172.16.11.11", "172.16.11.12"]);
        expect(where("hello-api.service")).toHaveLength(1);
        expect(where("hello-sidecar.service")).toEqual(where("hello-api.service"));
        expect(rows.every((r) => r.active === "active")).toBe(true);
        if (build === "flatcar") await recordPhase("running");
        // The upstream fleetctl sees the same units on the same machines in the same state.
        const upstream = (
          await fleetctl(["list-units", "--no-legend", "--full", "--fields", "unit,machine,active"])
        )
          .trim()
          .split("\n")
          .map((l) => l.split(/\s+/))
          .map(([unit, machine, active]) => [unit, machine!.split("/")[1], active])
          .sort();
        expect(rows.map((r) => [r.unit, r.machine.split("/")[1], r.active]).sort()).toEqual(upstream);
      });

      it("lab fleet status and journal show systemd's view from the unit's machine", async () => {
        const status = await fleet(["status", "hello-api.service"]);
        expect(status.stdout).toMatch(/Active: active \(running\)/);
        const journal = await fleet(["journal", "hello-api.service", "--lines", "20"]);
        expect(journal.stdout).toMatch(/Started hello-api.service|hello-api.service/);
      });

      it("a unit submitted with the upstream fleetctl reaches active on a kubernetes machine", async () => {
        await fleetctl(["start", "--block-attempts=120", path.join(units, "upstream-probe.service")]);
        const rows = JSON.parse((await fleet(["list-units", "--json"])).stdout) as UnitRow[];
        const probe = rows.find((r) => r.unit === "upstream-probe.service");
        expect(probe?.active).toBe("active");
        expect(["172.16.11.11", "172.16.11.12"]).toContain(probe?.machine.split("/")[1]);
        await fleet(["destroy", "upstream-probe.service"]);
      });

      it("stop, unload and destroy take them away again", async () => {
        await fleet(["stop", "hello-*"]);
        await fleet(["unload", "hello-*"]);
        await fleet(["destroy", "hello-*"]);
        expect(JSON.parse((await fleet(["list-unit-files", "--json"])).stdout)).toEqual([]);
        if (build === "flatcar") await recordPhase("errors");
      });
    },
  );
