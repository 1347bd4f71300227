import { describe, expect, it } from "vitest";
import type { Image as ImageStatus } from "../../src/api/images.js";
import type { Network as NetStatus } from "../../src/api/networks.js";
import type { Vm as VmStatus } from "../../src/api/vms.js";
import { desiredLab } from "../../src/lab/file/desired.js";
import { parseLabText } from "../../src/lab/file/load.js";
import { addressingFor, planIps } from "../../src/lab/plan/ips.js";
import type { Observed, PlanExtras } from "../../src/lab/plan/observed.js";
import { planLab } from "../../src/lab/plan/planner.js";
import { type Step, summarizeActions } from "../../src/lab/plan/steps.js";

const text = (extra = "") => `
networks:
  - name: default
    subnet: 172.16.11.0/24
    cluster:
      podNetwork: 10.0.0.0/16
images:
  - name: lab-test
    import: ../.cache/images/lab-test
machines:
  - name: etcd
    role: etcd
    ip: 172.16.11.10
  - group: node
    role: kubernetes
    count: 2
${extra}`;

const lab = (extra = "") =>
  desiredLab(parseLabText(text(extra), "lab.yaml"), "/repo/examples/demo.yaml", "/root");

function extras(l = lab(), units: PlanExtras["units"] = []): PlanExtras {
  const ips = planIps(l.machines, addressingFor(l.networks[0]!), []).ips;
  return { ips, sshKeys: new Map(), units };
}

const network: NetStatus = {
  network: {
    name: "default",
    subnet: "172.16.11.0/24",
    prefix: 24,
    gateway: "172.16.11.1",
    bridge: "labbr0",
    domain: "lab",
    dhcpStart: "172.16.11.128",
    dhcpEnd: "172.16.11.254",
    createdAt: "",
  },
  ovs: { kind: "private", dbSock: "/run/lab/ovs/db.sock", datapath: "netdev" },
  bridge: true,
  dnsmasqPid: 42,
  rules: true,
  reservations: [],
};

const image = { name: "lab-test", guest: "lab-test", version: "1", fleet: false } as ImageStatus;

const vm = (name: string, role: string, ip: string, over: Partial<VmStatus> = {}): VmStatus => ({
  name,
  role,
  ip,
  state: "running",
  network: "default",
  image: "lab-test",
  memoryMiB: 256,
  cpus: 1,
  restart: "no",
  configDrive: "iso",
  tap: `lab-${name}`,
  ports: [],
  mac: null,
  pid: null,
  uptimeSeconds: null,
  lastExit: null,
  ...over,
});

const everything = (): Observed => ({
  networks: [network],
  images: [image],
  vms: [
    vm("etcd", "etcd", "172.16.11.10"),
    vm("node-1", "kubernetes", "172.16.11.11"),
    vm("node-2", "kubernetes", "172.16.11.12"),
  ],
});

const actions = (steps: Step[]) => Object.fromEntries(steps.map((s) => [s.id, s.action]));

describe("lab up planner", () => {
  it("creates everything when nothing exists, etcd machine first", () => {
    const steps = planLab(lab(), { networks: [], images: [], vms: [] }, extras());
    expect(actions(steps)).toEqual({
      "network/default": "create",
      "image/lab-test": "create",
      "vm/etcd": "create",
      "vm/node-1": "create",
      "vm/node-2": "create",
    });
    const byId = new Map(steps.map((s) => [s.id, s]));
    expect(byId.get("vm/etcd")!.after).toEqual(["network/default", "image/lab-test"]);
    expect(byId.get("vm/node-1")!.after).toEqual(["network/default", "image/lab-test", "vm/etcd"]);
    const node = byId.get("vm/node-2")!;
    expect(node.kind === "vm" && node.body).toMatchObject({
      ip: "172.16.11.12",
      role: "kubernetes",
      image: "lab-test",
    });
    expect(summarizeActions(steps)).toBe("5 to create");
  });

  it("does nothing when everything exists and runs", () => {
    const steps = planLab(lab(), everything(), extras());
    expect(steps.every((s) => s.action === "unchanged")).toBe(true);
  });

  it("starts a stopped or crashed VM and repairs a network whose dnsmasq died", () => {
    const o = everything();
    o.vms[1]!.state = "stopped";
    o.vms[2]!.state = "crashed";
    o.networks = [{ ...network, dnsmasqPid: null }];
    const a = actions(planLab(lab(), o, extras()));
    expect(a).toMatchObject({
      "network/default": "repair",
      "vm/etcd": "unchanged",
      "vm/node-1": "start",
      "vm/node-2": "start",
    });
  });

  it("reports a VM with another spec as a conflict naming what differs, with a hint", () => {
    const o = everything();
    o.vms[1] = vm("node-1", "etcd", "172.16.11.11", { memoryMiB: 512 });
    o.vms[0] = vm("etcd", "etcd", "172.16.11.20");
    const steps = planLab(lab(), o, extras());
    const node = steps.find((s) => s.id === "vm/node-1")!;
    expect(node.action).toBe("conflict");
    expect(node.detail).toBe(
      "exists with role etcd (lab file: kubernetes), memory (MiB) 512 (lab file: 256)",
    );
    expect(node.hint).toMatch(/lab vm destroy node-1/);
    expect(steps.find((s) => s.id === "vm/etcd")!.detail).toMatch(
      /ip 172\.16\.11\.20 \(lab file: 172\.16\.11\.10\)/,
    );
  });

  it("reports a network with another subnet as a conflict", () => {
    const o = everything();
    o.networks = [{ ...network, network: { ...network.network, subnet: "172.16.12.0/24" } }];
    const s = planLab(lab(), o, extras()).find((x) => x.id === "network/default")!;
    expect([s.action, s.detail]).toEqual([
      "conflict",
      "exists with subnet 172.16.12.0/24 (lab file: 172.16.11.0/24)",
    ]);
  });

  it("plans flannel, the fleet gate and units only when units are declared", () => {
    const l = lab("fleet:\n  units: ['kube-*.service']");
    const units = [{ name: "kube-proxy.service", file: "/repo/units/kube-proxy.service", options: [] }];
    const steps = planLab(l, { networks: [], images: [], vms: [] }, extras(l, units));
    const fleet = steps.filter((s) => ["flannel", "fleet", "unit"].includes(s.kind));
    expect(fleet.map((s) => [s.id, s.action, s.afterReady])).toEqual([
      ["flannel/default", "set", ["vm/etcd"]],
      ["fleet/machines", "wait", ["vm/etcd", "vm/node-1", "vm/node-2"]],
      ["unit/kube-proxy.service", "launch", ["fleet/machines", "flannel/default"]],
    ]);
    const flannel = fleet[0]!;
    expect(flannel.kind === "flannel" && flannel.config).toEqual({
      Network: "10.0.0.0/16",
      SubnetLen: 24,
      Backend: { Type: "vxlan" },
    });
    const option = { section: "Service", name: "ExecStart", value: "/bin/true" };
    const withOptions = [{ ...units[0]!, options: [option] }];
    // fleet answers with its own key order (name, section, value): still the same unit.
    const fromFleet = [{ name: "ExecStart", section: "Service", value: "/bin/true" }];
    const observedFleet = {
      machines: [
        { id: "a", primaryIP: "172.16.11.10", metadata: { role: "etcd" } },
        { id: "b", primaryIP: "172.16.11.11", metadata: { role: "kubernetes" } },
        { id: "c", primaryIP: "172.16.11.12", metadata: { role: "kubernetes" } },
      ],
      units: [{ name: "kube-proxy.service", options: fromFleet, desiredState: "launched" as const }],
      flannel: JSON.stringify(flannel.kind === "flannel" && flannel.config),
    };
    const again = planLab(l, { ...everything(), fleet: observedFleet }, extras(l, withOptions));
    expect(again.every((s) => s.action === "unchanged")).toBe(true);
    const changed = [{ ...units[0]!, options: [{ ...option, value: "/bin/false" }] }];
    const unit = planLab(l, { ...everything(), fleet: observedFleet }, extras(l, changed)).at(-1)!;
    expect([unit.action, unit.hint]).toEqual(["conflict", expect.stringMatching(/lab down/)]);
    const noUnits = lab();
    expect(planLab(noUnits, everything(), extras(noUnits, units)).some((s) => s.kind === "unit")).toBe(false);
  });
});
