// Every unit shipped in units/ parses as fleet would read it and passes the [X-Fleet] checks; the
// Kubernetes units keep the tutorial's placement, fetch only artifacts units/kubernetes.artifacts.yaml
// lists, and call only what cloud-config/include/lab-kube.sh provides. (That systemd accepts them is
// checked inside a real guest: test/integration/kube-units.test.ts.)
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { parseUnitFile, type UnitOption } from "../../src/fleet/unit-file.js";
import { checkXFleet, validateUnitName } from "../../src/fleet/xfleet.js";

const root = path.join(import.meta.dirname, "../..");
const dir = path.join(root, "units");
const units = readdirSync(dir).filter((f) => /\.(service|socket|timer)$/.test(f));
const helper = path.join(root, "cloud-config/include/lab-kube.sh");
const kubeUnits = units.filter((f) => f.startsWith("kube-") || f === "flanneld.service");

const options = (file: string): UnitOption[] =>
  parseUnitFile(readFileSync(path.join(dir, file), "utf8"), file);
const xfleet = (file: string) =>
  Object.fromEntries(
    options(file)
      .filter((o) => o.section === "X-Fleet")
      .map((o) => [o.name, o.value]),
  );
const commands = (file: string) =>
  options(file)
    .filter((o) => o.section === "Service" && /^Exec/.test(o.name))
    .map((o) => o.value.replace(/\\\n\s*/g, " ").trim());

describe("units/", () => {
  it.each(units)("%s parses and passes the X-Fleet checks", (file) => {
    validateUnitName(file);
    const opts = options(file);
    expect(opts.length).toBeGreaterThan(0);
    expect(() => checkXFleet(opts, file)).not.toThrow();
  });

  it("has the Kubernetes components in the tutorial's layout", () => {
    expect(kubeUnits.filter((f) => !f.includes("@")).sort()).toEqual([
      "flanneld.service",
      "kube-apiserver-record.service",
      "kube-apiserver.service",
      "kube-controller-manager.service",
      "kube-kubelet.service",
      "kube-proxy.service",
      "kube-scheduler.service",
    ]);
    expect(xfleet("kube-apiserver.service")).toEqual({ MachineMetadata: "role=kubernetes" });
    for (const u of [
      "kube-controller-manager.service",
      "kube-scheduler.service",
      "kube-apiserver-record.service",
    ])
      expect(xfleet(u)).toEqual({ MachineOf: "kube-apiserver.service" });
    for (const u of ["kube-kubelet.service", "kube-proxy.service", "flanneld.service"])
      expect(xfleet(u)).toEqual({ Global: "true", MachineMetadata: "role=kubernetes" });
  });

  it("has the API server units as templates for several API servers behind a VIP, one per machine", () => {
    expect(kubeUnits.filter((f) => f.includes("@")).sort()).toEqual([
      "kube-apiserver-record@.service",
      "kube-apiserver@.service",
      "kube-controller-manager@.service",
      "kube-scheduler@.service",
    ]);
    expect(xfleet("kube-apiserver@.service")).toEqual({
      MachineMetadata: "role=kubernetes",
      Conflicts: "kube-apiserver@*.service",
    });
    for (const u of [
      "kube-controller-manager@.service",
      "kube-scheduler@.service",
      "kube-apiserver-record@.service",
    ])
      expect(xfleet(u)).toEqual({ MachineOf: "kube-apiserver@%i.service" });
  });

  // A template runs what its single unit runs: it differs only where several instances must.
  it.each(units.filter((f) => f.endsWith("@.service")))(
    "%s differs from its single unit only where it must",
    (file) => {
      const single = file.replace("@.", ".");
      const strip = (opts: UnitOption[]) =>
        opts
          .filter((o) => o.section !== "X-Fleet" && !(o.section === "Unit" && o.name === "Description"))
          .map((o) => ({
            ...o,
            value: o.value
              .replaceAll("kube-apiserver@%i.service", "kube-apiserver.service")
              .replaceAll("kube-apiserver-record@%i.service", "kube-apiserver-record.service"),
          }));
      const want = strip(options(single)).map((o) =>
        // Behind a VIP pods verify the API servers with the CA that signed them all, not a self-signed certificate.
        file === "kube-controller-manager@.service"
          ? { ...o, value: o.value.replace("pki/apiserver.crt", "pki/ca.crt") }
          : o,
      );
      expect(strip(options(file))).toEqual(want);
      expect(xfleet(file)).toEqual(
        file === "kube-apiserver@.service"
          ? { ...xfleet(single), Conflicts: "kube-apiserver@*.service" }
          : { MachineOf: "kube-apiserver@%i.service" },
      );
    },
  );

  it("fetches only listed artifacts, of one Kubernetes version, through lab-kube", () => {
    const list = yaml.load(readFileSync(path.join(dir, "kubernetes.artifacts.yaml"), "utf8")) as {
      artifacts: { name: string; url: string }[];
    };
    const listed = new Set(list.artifacts.map((a) => a.name));
    const fetched = new Set<string>();
    for (const file of kubeUnits) {
      for (const cmd of commands(file)) {
        // Every command runs through the helper, which exists before anything is fetched.
        expect(cmd, `${file}: ${cmd}`).toMatch(/^-?\/opt\/lab\/bin\/lab-kube /);
        const m = /^\/opt\/lab\/bin\/lab-kube (fetch|fetch-tgz) (\S+) (\S+)$/.exec(cmd);
        if (m) fetched.add(m[2]!);
      }
    }
    for (const name of fetched) expect(listed, `${name} is not in kubernetes.artifacts.yaml`).toContain(name);
    // Nothing listed that no unit uses.
    expect([...listed].sort()).toEqual([...fetched].sort());
    const versions = new Set(
      [...fetched].flatMap((n) => /^kube(?:-[a-z-]+|let|ctl)-(v\d+\.\d+\.\d+)$/.exec(n)?.slice(1) ?? []),
    );
    expect([...versions]).toHaveLength(1);
    for (const a of list.artifacts) expect(a.url).toMatch(/^https:\/\//);
  });

  it("calls only subcommands the lab-kube helper has, and the helper is valid bash", () => {
    const script = readFileSync(helper, "utf8");
    const known = new Set([...script.matchAll(/^ {2}([a-z-]+)\) cmd_/gm)].map((m) => m[1]!));
    expect(known.size).toBeGreaterThan(5);
    for (const file of kubeUnits)
      for (const cmd of commands(file)) {
        const sub = /^-?\/opt\/lab\/bin\/lab-kube ([a-z-]+)/.exec(cmd)?.[1];
        expect(known, `${file}: ${cmd}`).toContain(sub);
      }
    execFileSync("bash", ["-n", helper]);
  });

  it("gives every unit that waits in ExecStartPre a start timeout longer than its waits", () => {
    // lab-kube waits up to 600 s for the API server's record and 120 s for flannel's subnet, and
    // downloads with curl retries; systemd's default start timeout (90 s) would cut them off.
    for (const file of kubeUnits) {
      const pre = commands(file).filter((c) => / (kubeconfig|cni|fetch|fetch-tgz) /.test(` ${c} `));
      if (pre.length === 0) continue;
      const timeout = options(file).find((o) => o.section === "Service" && o.name === "TimeoutStartSec");
      expect(Number(timeout?.value), file).toBeGreaterThanOrEqual(600 + 120 + 60);
    }
  });

  it("starts kube-scheduler from a configuration file, not the deprecated --kubeconfig", () => {
    const start = commands("kube-scheduler.service").find((c) => c.includes("run kube-scheduler"))!;
    expect(start).toMatch(/ --config=\/var\/lib\/lab\/kubernetes\/scheduler-config\.yaml/);
    expect(start).not.toMatch(/ --kubeconfig=/);
    expect(commands("kube-scheduler.service")).toContain("/opt/lab/bin/lab-kube scheduler-config");
  });

  it("gives kube-apiserver a client certificate for the kubelets, which refuse anonymous requests", () => {
    const start = commands("kube-apiserver.service").find((c) => c.includes("run kube-apiserver"))!;
    expect(start).toMatch(/ --kubelet-client-certificate=\S+ /);
    expect(start).toMatch(/ --kubelet-client-key=\S+/);
  });
});

describe("lab up's view of the units", () => {
  it("knows which mirror artifacts each Kubernetes unit fetches", async () => {
    const { readUnitsDir, mirrorArtifactsOf } = await import("../../src/lab/file/units.js");
    const local = await readUnitsDir(dir);
    const of = (name: string) => mirrorArtifactsOf(local.find((u) => u.name === name)!);
    expect(of("kube-apiserver.service")).toEqual(["kube-apiserver-v1.35.0", "kubectl-v1.35.0"]);
    expect(of("kube-kubelet.service")).toEqual(["kubelet-v1.35.0", "cni-plugins-v1.6.2.tgz"]);
    expect(of("flanneld.service")).toEqual(["flanneld-v0.25.7"]);
    expect(of("labd.service")).toEqual([]);
  });
});
