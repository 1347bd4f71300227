// `lab status`: the lab file's networks and VMs as they are now, plus fleet's machines and units
// when fleet answers on the etcd machine (otherwise a note saying why not).

import os from "node:os";
import type { Image as ImageStatus } from "../../api/images.js";
import type { Network as NetStatus } from "../../api/networks.js";
import type { Vm as VmStatus } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { imageRunsUnits } from "../../cloudconfig/mirror-install.js";
import { etcdContact, etcdMembers } from "../../etcd/members.js";
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
    bridge: string | null;
    dnsmasqPid: number | null;
    detail: string;
  }[];
  vms: {
    name: string;
    role: string;
    state: string;
    ip: string | null;
    image: string | null;
    uptimeSeconds: number | null;
    /** For guests that print LAB-READY: whether it has; null for other guests or a stopped VM. */
    ready: boolean | null;
    detail: string;
  }[];
  fleet: { machines: FleetMachine[]; units: FleetUnit[]; flannel?: string } | { note: string };
  /** Who holds each API VIP; present when the lab file plans one. */
  vips?: VipState[];
  /** Each etcd member's health; present for a cluster of several. */
  etcd?: EtcdMemberState[];
}

function networkRow(name: string, subnet: string, s: NetStatus | undefined): LabStatus["networks"][number] {
  if (!s) return { name, state: "absent", subnet, bridge: null, dnsmasqPid: null, detail: "not up" };
  const dnsmasq = s.dnsmasqPid ? `dnsmasq pid ${s.dnsmasqPid}` : "dnsmasq NOT RUNNING";
  const bridge = `bridge ${s.network.bridge} ${s.bridge ? "present" : "MISSING"}`;
  return {
    name,
    state: s.bridge && s.dnsmasqPid ? "up" : "degraded",
    subnet: s.network.subnet,
    bridge: s.network.bridge,
    dnsmasqPid: s.dnsmasqPid,
    detail: `${bridge}, ${dnsmasq}, domain ${s.network.domain}`,
  };
}

async function vmReady(v: VmStatus, images: ImageStatus[]): Promise<boolean | null> {
  const guest = images.find((i) => i.name === v.image)?.guest;
  if (v.state !== "running" || guest !== READY_GUEST) return null;
  return ((await readyCount(serialLogOf(v.name))) ?? 0) > 0;
}

function vmDetail(v: VmStatus, ready: boolean | null): string {
  const uptime = v.uptimeSeconds === null ? "" : `, up ${v.uptimeSeconds}s`;
  return `role ${v.role}${uptime}${ready === null ? "" : ready ? ", LAB-READY" : ", booting"}`;
}

async function fleetPart(etcd: VmStatus | undefined, images: ImageStatus[]): Promise<LabStatus["fleet"]> {
  if (!etcd) return { note: "no etcd machine in this lab: no fleet" };
  if (etcd.state !== "running" || !etcd.ip) return { note: `etcd machine ${etcd.name} is ${etcd.state}` };
  // fleet comes from the mirror on every image whose guest runs units (not only images with fleet).
  const image = images.find((i) => i.name === etcd.image);
  if (image && !imageRunsUnits({ guest: image.guest ?? undefined }))
    return { note: `image ${etcd.image} has no fleet (its guest runs no units)` };
  const seen = await observeFleet(httpFleetGate(etcd.ip, OBSERVE), etcd.ip);
  return seen ?? { note: `fleet not reachable at http://${etcd.ip}:${FLEET_PORT}` };
}

export async function labStatus(client: LabClient, file: string): Promise<LabStatus> {
  const loaded = await loadLabFile(file);
  const lab = desiredLab(loaded.lab, loaded.file, os.homedir());
  const [networks, vms, images] = await Promise.all([
    labApi(client).networks.list(),
    labApi(client).vms.list(),
    labApi(client).images.list(),
  ]);
  const vmRows = await Promise.all(
    lab.machines.map(async (m) => {
      const v = vms.find((x) => x.name === m.name);
      if (!v) {
        const absent = { ip: null, image: null, uptimeSeconds: null, ready: null };
        return { name: m.name, role: m.role, state: "absent", ...absent, detail: `role ${m.role}` };
      }
      const ready = await vmReady(v, images);
      return {
        name: v.name,
        role: v.role,
        state: v.state,
        ip: v.ip,
        image: v.image,
        uptimeSeconds: v.uptimeSeconds,
        ready,
        detail: vmDetail(v, ready),
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
export function statusRows(s: LabStatus): (string | null | undefined)[][] {
  const rows: (string | null | undefined)[][] = [
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
