// The fleet part of `lab up`'s plan, only when the lab file declares units: flannel's network
// config in etcd, then a gate until fleet lists every machine with its role, then the units.
import { etcdMembers } from "../../etcd/members.js";
import type { UnitOption } from "../../fleet/unit-file.js";
import type { DesiredLab } from "../file/desired.js";
import type { LocalUnit } from "../file/units.js";
import type { FleetObserved, PlanExtras } from "./observed.js";
import { type FlannelConfig, type Step, stepId } from "./steps.js";

export const FLEET_GATE = "machines";

export function flannelConfig(podNetwork: string, subnetLen: number): FlannelConfig {
  return { Network: podNetwork, SubnetLen: subnetLen, Backend: { Type: "vxlan" } };
}

export function sameFlannelConfig(stored: string | undefined, want: FlannelConfig): boolean {
  if (stored === undefined) return false;
  try {
    const have = JSON.parse(stored) as FlannelConfig;
    return (
      have.Network === want.Network &&
      have.SubnetLen === want.SubnetLen &&
      have.Backend?.Type === want.Backend.Type
    );
  } catch {
    return false;
  }
}

/** fleet answers options with its own key order: compare them field by field, in order. */
export function sameUnitOptions(a: UnitOption[], b: UnitOption[]): boolean {
  return (
    a.length === b.length &&
    a.every((o, i) => o.section === b[i]!.section && o.name === b[i]!.name && o.value === b[i]!.value)
  );
}

function unitStep(u: LocalUnit, fleet: FleetObserved | undefined, etcdIp: string, before: string[]): Step {
  const have = fleet?.units.find((x) => x.name === u.name);
  const base = {
    id: stepId("unit", u.name),
    kind: "unit" as const,
    name: u.name,
    etcdIp,
    options: u.options ?? [],
    after: [],
    afterReady: before,
  };
  if (have && !sameUnitOptions(have.options ?? [], u.options ?? [])) {
    return {
      ...base,
      action: "conflict",
      detail: "fleet holds another version of this unit (fleet does not notice changed unit files)",
      hint: `'lab down -f FILE' removes the lab's units; or 'fleetctl destroy ${u.name}'`,
    };
  }
  if (have?.desiredState === "launched")
    return { ...base, action: "unchanged", detail: `launched (${have.currentState ?? "?"})` };
  return { ...base, action: "launch", detail: `from ${u.file}` };
}

export function planFleetSteps(
  lab: DesiredLab,
  fleet: FleetObserved | undefined,
  extras: PlanExtras,
): Step[] {
  const etcd = etcdMembers(lab.machines)[0];
  if (lab.unitGlobs.length === 0 || !etcd) return [];
  const etcdIp = extras.ips.get(etcd.name) ?? "?";
  const steps: Step[] = [];
  const cluster = lab.networks.find((n) => n.name === etcd.network)?.cluster;
  if (cluster) {
    const config = flannelConfig(cluster.podNetwork, cluster.podSubnetLength);
    steps.push({
      id: stepId("flannel", etcd.network),
      kind: "flannel",
      name: etcd.network,
      action: sameFlannelConfig(fleet?.flannel, config) ? "unchanged" : "set",
      detail: `${config.Network}, /${config.SubnetLen} per node, ${config.Backend.Type} (etcd ${etcdIp})`,
      etcdIp,
      config,
      after: [],
      afterReady: [stepId("vm", etcd.name)],
    });
  }
  const members = lab.machines
    .filter((m) => m.network === etcd.network)
    .map((m) => ({ name: m.name, ip: extras.ips.get(m.name) ?? "?", role: m.role }));
  const joined = members.every((m) =>
    fleet?.machines.some((f) => f.primaryIP === m.ip && f.metadata?.role === m.role),
  );
  const gate = stepId("fleet", FLEET_GATE);
  steps.push({
    id: gate,
    kind: "fleet",
    name: FLEET_GATE,
    action: joined ? "unchanged" : "wait",
    detail: `${members.length} machine(s) registered with their role`,
    etcdIp,
    machines: members,
    after: [],
    afterReady: members.map((m) => stepId("vm", m.name)),
  });
  const before = [gate, ...steps.filter((s) => s.kind === "flannel").map((s) => s.id)];
  for (const u of extras.units) steps.push(unitStep(u, fleet, etcdIp, before));
  return steps;
}
