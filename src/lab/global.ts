// Everything labd knows, without a lab file: what `lab ls` and a file-less `lab status` show (as
// `vagrant global-status` does), and what a file-less `lab down` would remove. Pure: the lists come
// from labd's answers.
import type { Image } from "../api/images.js";
import type { Network } from "../api/networks.js";
import type { Vm } from "../api/vms.js";

export interface GlobalStatus {
  networks: {
    name: string;
    state: "up" | "degraded";
    subnet: string;
    bridge: string;
    domain: string;
    vms: string[];
  }[];
  vms: {
    name: string;
    state: string;
    role: string;
    network: string;
    ip: string | null;
    image: string;
    uptimeSeconds: number | null;
  }[];
  images: { name: string; version: string | null; guest: string | null; usedBy: string[] }[];
}

export function globalStatus(networks: Network[], vms: Vm[], images: Image[]): GlobalStatus {
  return {
    networks: networks.map((n) => ({
      name: n.network.name,
      state: n.bridge && typeof n.dnsmasqPid === "number" ? "up" : "degraded",
      subnet: n.network.subnet,
      bridge: n.network.bridge,
      domain: n.network.domain,
      vms: vms.filter((v) => v.network === n.network.name).map((v) => v.name),
    })),
    vms: vms.map((v) => ({
      name: v.name,
      state: v.state,
      role: v.role,
      network: v.network,
      ip: v.ip ?? null,
      image: v.image,
      uptimeSeconds: v.uptimeSeconds ?? null,
    })),
    images: images.map((i) => ({
      name: i.name,
      version: i.version ?? null,
      guest: i.guest ?? null,
      usedBy: i.usedBy,
    })),
  };
}

/** KIND, NAME, STATE, ADDRESS, DETAILS: the same columns as `lab status` with a file. */
export function globalRows(s: GlobalStatus): (string | undefined)[][] {
  return [
    ...s.networks.map((n) => [
      "network",
      n.name,
      n.state,
      n.subnet,
      `bridge ${n.bridge}, domain ${n.domain}, ${n.vms.length} VM(s)`,
    ]),
    ...s.vms.map((v) => [
      "vm",
      v.name,
      v.state,
      v.ip ?? undefined,
      `role ${v.role}, network ${v.network}, image ${v.image}${v.uptimeSeconds === null ? "" : `, up ${v.uptimeSeconds}s`}`,
    ]),
    ...s.images.map((i) => [
      "image",
      i.name,
      i.usedBy.length > 0 ? "in use" : "unused",
      undefined,
      `version ${i.version ?? "-"}${i.usedBy.length > 0 ? `, used by ${i.usedBy.join(", ")}` : ""}`,
    ]),
  ];
}

export interface Removal {
  kind: "vm" | "network";
  name: string;
  /** What it is now: a VM's state, or a network's subnet. */
  now: string;
}

/** What a file-less `lab down` removes: every VM, then every network. Images and mirror stay. */
export function removeAllPlan(s: GlobalStatus): Removal[] {
  return [
    ...s.vms.map((v) => ({ kind: "vm" as const, name: v.name, now: `${v.state}${v.ip ? `, ${v.ip}` : ""}` })),
    ...s.networks.map((n) => ({ kind: "network" as const, name: n.name, now: n.subnet })),
  ];
}
