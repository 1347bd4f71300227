// The one rule for "the etcd members of this lab": every machine of role etcd on the network, in
// name order. Cloud-config (from the ledger), lab up/down/status (from the lab file) and the CLI
// (from the VM list) all ask here, so they can never disagree about which machine is etcd.

export const ETCD_ROLE = "etcd";
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export interface MachineLike {
  name: string;
  role: string;
  network: string;
  ip?: string | null;
  state?: string;
}

/**
 * The etcd members on `network`, ordered by name. Without a network: those on the network of the
 * first etcd machine by name (a lab's etcd cluster lives on one network).
 */
export function etcdMembers<T extends MachineLike>(machines: Iterable<T>, network?: string): T[] {
  const etcd = [...machines]
    .filter((m) => m.role === ETCD_ROLE)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const net = network ?? etcd[0]?.network;
  return etcd.filter((m) => m.network === net);
}

/** The member to talk to: the first running one with an address, else the first one. */
export function etcdContact<T extends MachineLike>(members: T[]): T | undefined {
  return members.find((m) => m.state === "running" && m.ip !== undefined) ?? members[0];
}

export function clientUrl(ip: string): string {
  return `http://${ip}:${ETCD_CLIENT_PORT}`;
}

/** Every member's client URL, comma-separated: what etcd clients (fleetd, flannel, kube) take. */
export function clientUrls(members: { ip?: string }[]): string {
  return members.flatMap((m) => (m.ip === undefined ? [] : [clientUrl(m.ip)])).join(",");
}

/** etcd's --initial-cluster: NAME=http://IP:2380 for every member. */
export function initialCluster(members: { name: string; ip?: string }[]): string {
  return members.map((m) => `${m.name}=http://${m.ip ?? "?"}:${ETCD_PEER_PORT}`).join(",");
}
