// What a machine of a multi-member etcd cluster is told by `lab up`, which knows every member's
// name and address before any of them boots (the daemon's ledger only learns them one by one).
// One etcd machine: nothing is added and the role template's single-member settings stand.
import { deepMerge } from "../../cloudconfig/tree.js";
import { clientUrls, ETCD_ROLE, etcdMembers, initialCluster } from "../../etcd/members.js";
import type { DesiredMachine } from "../file/desired.js";

/** Read by lab-etcd.service after /etc/lab/etcd.env (cloud-config/include/lab-etcd.service). */
export const ETCD_CLUSTER_ENV_PATH = "/etc/lab/etcd-cluster.env";
/** Read by lab-fleet.service after /etc/lab/fleet.env (cloud-config/include/lab-fleet.service). */
export const FLEET_ETCD_ENV_PATH = "/etc/lab/fleet-etcd.env";

export function etcdClusterFiles(
  m: DesiredMachine,
  machines: DesiredMachine[],
  ips: Map<string, string>,
): { path: string; permissions: string; content: string }[] {
  const members = etcdMembers(
    machines.map((x) => ({ ...x, ip: ips.get(x.name) })),
    m.network,
  );
  if (members.length < 2) return [];
  const fleet = {
    path: FLEET_ETCD_ENV_PATH,
    permissions: "0644",
    content: `FLEET_ETCD_SERVERS=${clientUrls(members)}\n`,
  };
  if (m.role !== ETCD_ROLE) return [fleet];
  const etcd = [
    `ETCD_INITIAL_CLUSTER=${initialCluster(members)}`,
    "ETCD_INITIAL_CLUSTER_STATE=new",
    `ETCD_INITIAL_CLUSTER_TOKEN=lab-${m.network}`,
  ];
  return [{ path: ETCD_CLUSTER_ENV_PATH, permissions: "0644", content: `${etcd.join("\n")}\n` }, fleet];
}

/** The machine's extra cloud-config with `files` written before the user's own. */
export function withFiles(
  extra: Record<string, unknown> | undefined,
  files: { path: string; permissions: string; content: string }[],
): Record<string, unknown> | undefined {
  if (files.length === 0) return extra;
  const ours = { write_files: files };
  return extra === undefined ? ours : (deepMerge(ours, extra) as Record<string, unknown>);
}
