// The HA part of `lab status`: which lb machine holds each network's API virtual IP (its address
// list, read over ssh as `lab vm ssh` would) and how each etcd member answers etcd's /health.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { Vm as VmStatus } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { toLabError } from "../../errors.js";
import { clientUrl, etcdMembers } from "../../etcd/members.js";
import { createHost, type Host } from "../../host/host.js";
import type { DesiredLab } from "../file/desired.js";
import { LB_ROLE } from "../plan/check-vip.js";
import { LB_INTERFACE } from "../plan/lb-plan.js";
import { capturedSshArgv } from "./unit-journal.js";

export interface VipState {
  network: string;
  address: string;
  /** The lb machine(s) whose interface carries it: one when VRRP works, two in a split brain. */
  holders: string[];
  /** Why some lb machine could not be asked. */
  notes: string[];
}

export interface EtcdMemberState {
  name: string;
  ip?: string;
  health: "healthy" | "unhealthy" | "unreachable" | "not running";
  detail: string;
}

/** `ip -o -4 addr show dev eth0` output carries the address as ` ADDRESS/PREFIX`. */
export function holdsAddress(ipAddrOutput: string, address: string): boolean {
  return ipAddrOutput.split("\n").some((l) => l.includes(` inet ${address}/`));
}

async function addressesOf(client: LabClient, host: Host, vm: VmStatus): Promise<string> {
  const target = await labApi(client).vms.ssh(vm.name);
  if (target.hostKeys === 0) throw new Error(`${vm.name} has not reported its ssh host key`);
  await access(target.keyFile, constants.R_OK).catch(() => {
    throw new Error(`lab's ssh key ${target.keyFile} is readable by root only`);
  });
  const r = await host.run(capturedSshArgv(target, ["ip", "-o", "-4", "addr", "show", "dev", LB_INTERFACE]), {
    allowFailure: true,
    timeoutMs: 20_000,
  });
  if (r.exitCode !== 0) throw new Error(`ssh to ${vm.name} exited ${r.exitCode}`);
  return r.stdout;
}

export async function vipStates(client: LabClient, lab: DesiredLab, vms: VmStatus[], host = createHost()) {
  const out: VipState[] = [];
  for (const net of lab.networks) {
    const address = net.cluster?.apiVip;
    if (address === undefined) continue;
    const state: VipState = { network: net.name, address, holders: [], notes: [] };
    const lbs = lab.machines.filter((m) => m.network === net.name && m.role === LB_ROLE);
    await Promise.all(
      lbs.map(async (m) => {
        const vm = vms.find((v) => v.name === m.name);
        if (vm?.state !== "running") return void state.notes.push(`${m.name} ${vm?.state ?? "absent"}`);
        try {
          if (holdsAddress(await addressesOf(client, host, vm), address)) state.holders.push(m.name);
        } catch (err) {
          state.notes.push(toLabError(err).message);
        }
      }),
    );
    state.holders.sort();
    out.push(state);
  }
  return out;
}

/** Every etcd member of the lab asked for GET /health (etcd's own health endpoint). */
export async function etcdHealth(
  lab: DesiredLab,
  vms: VmStatus[],
  timeoutMs = 3000,
): Promise<EtcdMemberState[]> {
  const members = etcdMembers(lab.machines);
  if (members.length < 2) return [];
  return Promise.all(
    members.map(async (m): Promise<EtcdMemberState> => {
      const vm = vms.find((v) => v.name === m.name);
      if (vm?.state !== "running" || !vm.ip)
        return {
          name: m.name,
          ip: vm?.ip ?? undefined,
          health: "not running",
          detail: vm?.state ?? "absent",
        };
      try {
        const r = await fetch(`${clientUrl(vm.ip)}/health`, { signal: AbortSignal.timeout(timeoutMs) });
        const body = (await r.json().catch(() => ({}))) as { health?: string; reason?: string };
        const ok = r.ok && body.health === "true";
        return {
          name: m.name,
          ip: vm.ip,
          health: ok ? "healthy" : "unhealthy",
          detail: body.reason || `GET /health: HTTP ${r.status}`,
        };
      } catch (err) {
        return { name: m.name, ip: vm.ip, health: "unreachable", detail: (err as Error).message };
      }
    }),
  );
}
