// `lab status`: the lab file's networks and VMs as they are now, plus fleet's machines and units
// when fleet answers on the etcd machine (otherwise a note saying why not).

import os from "node:os";
import type { LabClient } from "../../client/client.js";
import { imageRunsUnits } from "../../cloudconfig/mirror-install.js";
import { etcdContact, etcdMembers } from "../../etcd/members.js";
import type { ImageStatus } from "../../image/status.js";
import type { NetStatus } from "../../net/network.js";
import type { VmStatus } from "../../vm/status.js";
import { desiredLab } from "../file/desired.js";
import { loadLabFile } from "../file/load.js";
import {
  FLEET_PORT,
  type FleetMachine,
  type FleetUnit,
  httpFleetGate,
  OBSERVE,
  observeFleet,
} from "./fleet-steps.js";
import { type EtcdMemberState, etcdHealth, type VipState, vipStates } from "./ha-status.js";
import { READY_GUEST, readyCount, serialLogOf } from "./ready.js";

export interface LabStatus {
  file: string;
  networks: {
    name: string;
    state: "up" | "degraded" | "absent";
    subnet: string;
    bridge?: string;
    detail: string;
  }[];
  vms: { name: string; role: string; state: string; ip?: string; image?: string; detail: string }[];
  fleet: { machines: FleetMachine[]; units: FleetUnit[]; flannel?: string } | { note: string };
  /** Who holds each API VIP; present when the lab file plans one. */
  vips?: VipState[];
  /** Each etcd member's health; present for a cluster of several. */
  etcd?: EtcdMemberState[];
}

function networkRow(name: string, subnet: string, s: NetStatus | undefined): LabStatus["networks"][number] {
  if (!s) return { name, state: "absent", subnet, detail: "not up" };
  const dnsmasq = s.dnsmasqPid ? `dnsmasq pid ${s.dnsmasqPid}` : "dnsmasq NOT RUNNING";
  const bridge = `bridge ${s.network.bridge} ${s.bridge ? "present" : "MISSING"}`;
  return {
    name,
    state: s.bridge && s.dnsmasqPid ? "up" : "degraded",
    subnet: s.network.subnet,
    bridge: s.network.bridge,
    detail: `${bridge}, ${dnsmasq}, domain ${s.network.domain}`,
  };
}

async function vmDetail(v: VmStatus, images: ImageStatus[]): Promise<string> {
  const guest = images.find((i) => i.name === v.image)?.guest;
  const uptime = v.uptimeSeconds === undefined ? "" : `, up ${v.uptimeSeconds}s`;
  if (v.state !== "running" || guest !== READY_GUEST) return `role ${v.role}${uptime}`;
  const ready = ((await readyCount(serialLogOf(v.name))) ?? 0) > 0;
  return `role ${v.role}${uptime}, ${ready ? "LAB-READY" : "booting"}`;
}

async function fleetPart(etcd: VmStatus | undefined, images: ImageStatus[]): Promise<LabStatus["fleet"]> {
  if (!etcd) return { note: "no etcd machine in this lab: no fleet" };
  if (etcd.state !== "running" || !etcd.ip) return { note: `etcd machine ${etcd.name} is ${etcd.state}` };
  // fleet comes from the mirror on every image whose guest runs units (not only images with fleet).
  const image = images.find((i) => i.name === etcd.image);
  if (image && !imageRunsUnits(image))
    return { note: `image ${etcd.image} has no fleet (its guest runs no units)` };
  const seen = await observeFleet(httpFleetGate(etcd.ip, OBSERVE), etcd.ip);
  return seen ?? { note: `fleet not reachable at http://${etcd.ip}:${FLEET_PORT}` };
}

export async function labStatus(client: LabClient, file: string): Promise<LabStatus> {
  const loaded = await loadLabFile(file);
  const lab = desiredLab(loaded.lab, loaded.file, os.homedir());
  const [networks, vms, images] = await Promise.all([
    client.call<NetStatus[]>("GET", "/v1/networks"),
    client.call<VmStatus[]>("GET", "/v1/vms"),
    client.call<ImageStatus[]>("GET", "/v1/images"),
  ]);
  const vmRows = await Promise.all(
    lab.machines.map(async (m) => {
      const v = vms.find((x) => x.name === m.name);
      if (!v) return { name: m.name, role: m.role, state: "absent", detail: `role ${m.role}` };
      return {
        name: v.name,
        role: v.role,
        state: v.state,
        ip: v.ip,
        image: v.image,
        detail: await vmDetail(v, images),
      };
    }),
  );
  const etcd = etcdContact(etcdMembers(vms.filter((v) => lab.machines.some((m) => m.name === v.name))));
  return {
    file: loaded.file,
    networks: lab.networks.map((n) =>
      networkRow(
        n.name,
        n.subnet,
        networks.find((s) => s.network.name === n.name),
      ),
    ),
    vms: vmRows,
    fleet: await fleetPart(etcd, images),
    vips: await vipStates(client, lab, vms),
    etcd: await etcdHealth(lab, vms),
  };
}

/** The one table of `lab status`: KIND, NAME, STATE, ADDRESS, DETAILS. */
export function statusRows(s: LabStatus): (string | undefined)[][] {
  const rows: (string | undefined)[][] = [
    ...s.networks.map((n) => ["network", n.name, n.state, n.subnet, n.detail]),
    ...s.vms.map((v) => ["vm", v.name, v.state, v.ip, v.detail]),
  ];
  if ("machines" in s.fleet) {
    for (const m of s.fleet.machines) {
      const meta = Object.entries(m.metadata ?? {}).map(([k, v]) => `${k}=${v}`);
      rows.push(["machine", m.id.slice(0, 8), "registered", m.primaryIP, meta.join(",")]);
    }
    for (const u of s.fleet.units)
      rows.push(["unit", u.name, u.currentState ?? "-", undefined, `desired ${u.desiredState}`]);
  }
  for (const v of s.vips ?? []) {
    const state = v.holders.length === 1 ? "held" : v.holders.length === 0 ? "NOT HELD" : "SPLIT";
    const by = v.holders.length > 0 ? `by ${v.holders.join(", ")}` : "by no lb machine";
    rows.push(["vip", v.network, state, v.address, [by, ...v.notes].join("; ")]);
  }
  for (const e of s.etcd ?? []) rows.push(["etcd", e.name, e.health, e.ip, e.detail]);
  return rows;
}
