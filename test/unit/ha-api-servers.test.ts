// Several API servers behind the API VIP, as lab up plans them from the units of units/: with a VIP
// the API server units become one instance per kubernetes machine of their templates (one API
// server per machine, the rest beside it); without one the selection is what it always was.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveUnits } from "../../src/fleet/resolve-units.js";
import { checkXFleet } from "../../src/fleet/xfleet.js";
import { desiredLab } from "../../src/lab/file/desired.js";
import { parseLabText } from "../../src/lab/file/load.js";
import { readUnitsDir, selectUnits } from "../../src/lab/file/units.js";
import { apiServerCount, fleetUnits, withInstances } from "../../src/lab/plan/api-servers.js";
import { checkLab } from "../../src/lab/plan/checks.js";
import { addressingFor, planIps } from "../../src/lab/plan/ips.js";
import { planFleetSteps } from "../../src/lab/plan/plan-fleet.js";

const unitsDir = path.join(import.meta.dirname, "../../units");
const text = (apiVip: string | undefined, kube = 2) => `
networks:
  - name: default
    subnet: 172.16.11.0/24
    cluster:
      podNetwork: 10.0.0.0/16${apiVip ? `\n      apiVip: ${apiVip}` : ""}
images:
  - name: lab-flatcar-lb
    import: ../.cache/images/lab-flatcar-lb
machines:
  - { group: etcd, role: etcd, count: 3 }
${apiVip ? "  - { group: lb, role: lb, count: 2 }\n" : ""}  - { group: kube, role: kubernetes, count: ${kube} }
fleet:
  dir: ${unitsDir}
  units: [flanneld.service, "kube-*.service"]
`;
const lab = (apiVip?: string, kube?: number) =>
  desiredLab(parseLabText(text(apiVip, kube), "lab.yaml"), "/repo/lab.yaml", "/root");

const SINGLE = [
  "flanneld.service",
  "kube-apiserver-record.service",
  "kube-apiserver.service",
  "kube-controller-manager.service",
  "kube-kubelet.service",
  "kube-proxy.service",
  "kube-scheduler.service",
];

describe("the units lab up launches", () => {
  it("without a VIP: the single API server units, never a template", async () => {
    const all = await readUnitsDir(unitsDir);
    expect(apiServerCount(lab())).toBeUndefined();
    expect(fleetUnits(lab(), all).map((u) => u.name)).toEqual(SINGLE);
    expect(fleetUnits(lab(), all)).toEqual(selectUnits(lab().unitGlobs, all));
  });

  it("behind a VIP: each API server unit as one instance per kubernetes machine", async () => {
    const all = await readUnitsDir(unitsDir);
    const l = lab("172.16.11.5", 3);
    expect(apiServerCount(l)).toBe(3);
    const names = fleetUnits(l, all).map((u) => u.name);
    const n = (base: string) => [1, 2, 3].map((i) => `${base}@${i}.service`);
    expect(names).toEqual([
      "flanneld.service",
      ...n("kube-apiserver-record"),
      ...n("kube-apiserver"),
      ...n("kube-controller-manager"),
      "kube-kubelet.service",
      "kube-proxy.service",
      ...n("kube-scheduler"),
    ]);
    const api2 = fleetUnits(l, all).find((u) => u.name === "kube-apiserver@2.service")!;
    expect(api2.file).toBe(path.join(unitsDir, "kube-apiserver@.service"));
    expect(checkXFleet(api2.options!, api2.file).conflicts).toEqual(["kube-apiserver@*.service"]);
    const cm = fleetUnits(l, all).find((u) => u.name === "kube-controller-manager@3.service")!;
    expect(checkXFleet(cm.options!, cm.file).machineOf).toEqual(["kube-apiserver@%i.service"]);
    const cmd = cm.options!.find((o) => o.name === "ExecStart")!.value;
    expect(cmd).toContain("--leader-elect=true");
  });

  it("a unit without a template beside it stays single; a VIP on another network changes nothing", () => {
    const u = (name: string) => ({ name, file: `/u/${name}`, options: [] });
    const all = [u("a.service"), u("b.service"), u("b@.service")];
    expect(withInstances([all[0]!, all[1]!], all, 2).map((x) => x.name)).toEqual([
      "a.service",
      "b@1.service",
      "b@2.service",
    ]);
    expect(withInstances([all[0]!, all[1]!], all, undefined).map((x) => x.name)).toEqual([
      "a.service",
      "b.service",
    ]);
  });

  it("lab up's fleet steps launch the instances, each once, after the machines joined", async () => {
    const l = lab("172.16.11.5");
    const ips = planIps(l.machines, addressingFor(l.networks[0]!), [], "172.16.11.5").ips;
    const steps = planFleetSteps(l, undefined, {
      ips,
      sshKeys: new Map(),
      units: fleetUnits(l, await readUnitsDir(unitsDir)),
    });
    const launched = steps.filter((s) => s.kind === "unit").map((s) => s.name);
    expect(launched).toContain("kube-apiserver@1.service");
    expect(launched).toContain("kube-apiserver@2.service");
    expect(launched).not.toContain("kube-apiserver.service");
    expect(launched).not.toContain("kube-apiserver@.service");
    expect(new Set(launched).size).toBe(launched.length);
  });

  it("the lab file's checks pass behind a VIP, and name a broken template", async () => {
    const all = await readUnitsDir(unitsDir);
    const env = {
      host: { routes: [], addresses: [] },
      labNetworks: [],
      reservations: new Map(),
      roles: ["etcd", "lb", "kubernetes", "plain"],
      catalog: [],
      unitFiles: all,
      fileProblems: [],
    };
    expect(checkLab(lab("172.16.11.5"), env)).toEqual([]);
    const broken = all.map((u) =>
      u.name === "kube-scheduler@.service"
        ? { ...u, options: [...u.options!, { section: "X-Fleet", name: "Global", value: "true" }] }
        : u,
    );
    expect(checkLab(lab("172.16.11.5"), { ...env, unitFiles: broken }).map((p) => p.message)).toEqual([
      expect.stringMatching(/kube-scheduler@\.service: Global=true cannot be combined/),
    ]);
    // Without a VIP the templates are not used, so not checked either.
    expect(checkLab(lab(), { ...env, unitFiles: broken })).toEqual([]);
  });
});

describe("[X-Fleet] checks", () => {
  it("take fleet's specifiers (%i, %n, %N, %p) in unit names, no others", () => {
    const x = (value: string) => [{ section: "X-Fleet", name: "MachineOf", value }];
    expect(checkXFleet(x("kube-apiserver@%i.service"), "t@.service").machineOf).toEqual([
      "kube-apiserver@%i.service",
    ]);
    expect(() => checkXFleet(x("kube-apiserver@%z.service"), "t@.service")).toThrow(/invalid unit name/);
  });
});

describe("lab fleet's globs", () => {
  it("select the single units, not their templates; an instance is taken from its template", async () => {
    const picked = (await resolveUnits(["kube-*.service"], unitsDir)).map((u) => u.name);
    expect(picked.filter((n) => n.includes("@"))).toEqual([]);
    expect(picked).toContain("kube-apiserver.service");
    const [one] = await resolveUnits(["kube-apiserver@2.service"], unitsDir);
    expect(one!.file).toBe(path.join(unitsDir, "kube-apiserver@.service"));
  });
});

describe("the cluster plan a machine gets", () => {
  it("names the VIP in /etc/lab/kubernetes.env only when there is one", () => {
    const env = (l: ReturnType<typeof lab>) => {
      const files = (l.machines.find((m) => m.role === "kubernetes")!.cloudConfig!.write_files ?? []) as {
        path: string;
        content: string;
      }[];
      return files.find((f) => f.path === "/etc/lab/kubernetes.env")!.content;
    };
    expect(env(lab("172.16.11.5"))).toContain("API_VIP=172.16.11.5\n");
    expect(env(lab())).toBe("POD_NETWORK=10.0.0.0/16\nNODE_PORTS=30000-32767\n");
  });
});
