// What the page shows, gathered from labd's API (networks, VMs), the VMs' serial logs (readiness)
// and fleet's API on the etcd machine when it answers. Absent fleet is a note, never an error.

import type { Network as NetStatus } from "../api/networks.js";
import type { Vm as VmStatus } from "../api/vms.js";
import type { FleetMachine, FleetUnit } from "../fleet/api.js";
import { HOSTKEYS_MARKER, READY_MARKER } from "../vm/console-markers.js";
import {
  formatUptime,
  layoutTopology,
  type NetView,
  type Picture,
  type UnitView,
  type VmView,
} from "./layout.js";

export interface StateSource {
  vms(): Promise<VmStatus[]>;
  networks(): Promise<NetStatus[]>;
  mirrors(): { network: string; url: string }[];
  /** The end of a VM's serial log ("" when there is none). */
  serialTail(vm: string): Promise<string>;
  /** fleet's machines and units from the fleet API at this IP, or undefined when it does not answer. */
  fleet(ip: string): Promise<{ machines: FleetMachine[]; units: FleetUnit[] } | undefined>;
}

export type FleetSummary = { machines: number; units: number; at: string } | { note: string };

export interface WebState {
  time: string;
  picture: Picture;
  fleet: FleetSummary;
}

/** The kernel's first line on the serial console: each boot starts with it. */
const BOOT_LINE = "Linux version";

/** Ready when a marker line (lab-test's LAB-READY, a unit guest's host-key report) follows the last boot. */
export function readiness(serialTail: string): boolean {
  const boot = serialTail.lastIndexOf(BOOT_LINE);
  const marker = Math.max(serialTail.lastIndexOf(READY_MARKER), serialTail.lastIndexOf(HOSTKEYS_MARKER));
  return marker >= 0 && marker > boot;
}

/** Each VM's units: fleet names machines by id and primary IP; a VM is the machine with its IP. */
export function placeUnits(
  vms: VmStatus[],
  machines: FleetMachine[],
  units: FleetUnit[],
): Map<string, { machineId: string; units: UnitView[] }> {
  const out = new Map<string, { machineId: string; units: UnitView[] }>();
  for (const vm of vms) {
    const m = machines.find((x) => x.primaryIP === vm.ip);
    if (!m) continue;
    const on = units
      .filter((u) => u.machineID === m.id)
      .map((u) => ({ name: u.name, state: u.currentState ?? u.desiredState }))
      .sort((a, b) => a.name.localeCompare(b.name));
    out.set(vm.name, { machineId: m.id, units: on });
  }
  return out;
}

export function netView(s: NetStatus, mirror?: string): NetView {
  const n = s.network;
  return {
    name: n.name,
    subnet: `${n.subnet.split("/")[0]}/${n.prefix}`,
    bridge: n.bridge,
    gateway: n.gateway,
    dhcp: `${n.dhcpStart} – ${n.dhcpEnd}`,
    domain: n.domain,
    bridgeUp: s.bridge,
    nat: s.rules,
    dns: typeof s.dnsmasqPid === "number",
    mirror,
  };
}

export async function gatherState(src: StateSource): Promise<WebState> {
  const [vms, nets] = await Promise.all([src.vms(), src.networks()]);
  const mirrors = src.mirrors();
  const etcd = vms.find((v) => v.role === "etcd" && v.state === "running" && v.ip);
  const seen = etcd?.ip ? await src.fleet(etcd.ip) : undefined;
  const placed = seen ? placeUnits(vms, seen.machines, seen.units) : new Map();
  const views: VmView[] = await Promise.all(
    vms.map(async (v) => ({
      name: v.name,
      role: v.role,
      state: v.state,
      network: v.network,
      ip: v.ip,
      mac: v.mac,
      uptimeSeconds: v.uptimeSeconds,
      uptime: formatUptime(v.uptimeSeconds),
      ready: v.state === "running" && readiness(await src.serialTail(v.name)),
      machineId: placed.get(v.name)?.machineId,
      units: placed.get(v.name)?.units ?? [],
    })),
  );
  const picture = layoutTopology(
    nets.map((s) => netView(s, mirrors.find((m) => m.network === s.network.name)?.url)),
    views,
  );
  const fleet: FleetSummary = seen
    ? { machines: seen.machines.length, units: seen.units.length, at: etcd!.name }
    : {
        note: etcd
          ? `fleet does not answer on ${etcd.name} (${etcd.ip})`
          : "no running etcd machine: no fleet",
      };
  return { time: new Date().toISOString(), picture, fleet };
}
