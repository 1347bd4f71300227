// Several API servers behind the API virtual IP (networks[].cluster.apiVip): instead of each selected
// unit that has a template of its name beside it (kube-apiserver.service and kube-apiserver@.service,
// likewise -record, controller-manager, scheduler), `lab up` launches its instances @1 to @N, N the
// machines of role kubernetes on the network: every machine the lb machines' haproxy forwards to.
// The templates keep one API server per machine (Conflicts=kube-apiserver@*.service) and the rest
// beside it (MachineOf=kube-apiserver@%i.service). Without a VIP the globs' selection is launched
// as it is. Pure.
import { etcdMembers } from "../../etcd/members.js";
import type { DesiredLab } from "../file/desired.js";
import { type LocalUnit, selectUnits } from "../file/units.js";
import { API_SERVER_ROLE } from "./check-vip.js";

/** How many API servers the fleet cluster's network has behind its VIP; undefined without a VIP. */
export function apiServerCount(lab: DesiredLab): number | undefined {
  const network = etcdMembers(lab.machines)[0]?.network;
  const net = lab.networks.find((n) => n.name === network);
  if (net?.cluster?.apiVip === undefined) return undefined;
  return lab.machines.filter((m) => m.network === net.name && m.role === API_SERVER_ROLE).length;
}

/** kube-apiserver.service -> kube-apiserver@.service */
export function templateFor(name: string): string | undefined {
  const m = /^([^@]+)(\.[a-z]+)$/.exec(name);
  return m ? `${m[1]}@${m[2]}` : undefined;
}

/** The selected units with each that has a template beside it replaced by `count` instances. */
export function withInstances(
  selected: LocalUnit[],
  all: LocalUnit[],
  count: number | undefined,
): LocalUnit[] {
  if (count === undefined) return selected;
  return selected.flatMap((u) => {
    const name = templateFor(u.name);
    const template = all.find((t) => t.name === name);
    if (!template) return [u];
    return Array.from({ length: count }, (_, i) => ({
      ...template,
      name: template.name.replace("@.", `@${i + 1}.`),
    }));
  });
}

/** The units `lab up` launches and `lab down` removes for this lab file. */
export function fleetUnits(lab: DesiredLab, all: LocalUnit[]): LocalUnit[] {
  return withInstances(selectUnits(lab.unitGlobs, all), all, apiServerCount(lab));
}
