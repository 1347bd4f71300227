// The lb role's configuration, rendered by `lab up` from the planned addresses: haproxy forwards
// TCP 6443 on every lb machine to every API server (role kubernetes) of the network, checked by
// GET /readyz over TLS; keepalived holds the network's API virtual IP on one lb machine at a time.
// VRRP goes unicast between the lb machines (unicast_peer): nothing then depends on the bridge
// passing multicast 224.0.0.18, and a third party on the lab network is never a peer. Pure.

import type { DesiredMachine } from "../file/desired.js";
import { API_SERVER_ROLE, LB_ROLE } from "./check-vip.js";

export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
export const API_PORT = 6443;
/** The guest's interface on the lab network (the images boot with net.ifnames=0). */
export const LB_INTERFACE = "eth0";
/** VRRP router id of the API VIP: one VIP per network, so one id serves. */
export const VRRP_ROUTER_ID = 51;

export interface LbPeers {
  self: { name: string; ip: string };
  /** The other lb machines. */
  peers: string[];
  /** Position of this machine among the lb machines by name: the first has the highest priority. */
  rank: number;
  apiServers: { name: string; ip: string }[];
  vip: string;
  prefix: number;
}

export function lbPeers(
  m: DesiredMachine,
  machines: DesiredMachine[],
  ips: Map<string, string>,
  vip: string,
  prefix: number,
): LbPeers {
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const on = machines.filter((x) => x.network === m.network);
  const lbs = on.filter((x) => x.role === LB_ROLE).sort(byName);
  const ip = (x: { name: string }) => ips.get(x.name) ?? "?";
  return {
    self: { name: m.name, ip: ip(m) },
    peers: lbs.filter((x) => x.name !== m.name).map(ip),
    rank: lbs.findIndex((x) => x.name === m.name),
    apiServers: on
      .filter((x) => x.role === API_SERVER_ROLE)
      .sort(byName)
      .map((x) => ({ name: x.name, ip: ip(x) })),
    vip,
    prefix,
  };
}

export function renderHaproxyCfg(p: LbPeers): string {
  return [
    "# Written by lab (src/lab/lb-plan.ts): the API servers behind the lab's API virtual IP.",
    "global",
    "  log stdout format raw local0",
    "  maxconn 2000",
    "defaults",
    "  mode tcp",
    "  log global",
    "  option tcplog",
    "  timeout connect 3s",
    "  timeout client 1h",
    "  timeout server 1h",
    "frontend kube-apiserver",
    `  bind :${API_PORT}`,
    "  default_backend kube-apiservers",
    "backend kube-apiservers",
    "  option httpchk GET /readyz",
    "  http-check expect status 200",
    "  default-server check check-ssl verify none inter 2s fall 2 rise 1",
    ...p.apiServers.map((s) => `  server ${s.name} ${s.ip}:${API_PORT}`),
    "",
  ].join("\n");
}

export function renderKeepalivedConf(p: LbPeers): string {
  return [
    "# Written by lab (src/lab/lb-plan.ts): the lab's API virtual IP, VRRP by unicast between lb machines.",
    "global_defs {",
    `  router_id ${p.self.name}`,
    "  enable_script_security",
    "  script_user root",
    "}",
    "vrrp_script haproxy_running {",
    '  script "/usr/bin/systemctl is-active --quiet haproxy.service"',
    "  interval 2",
    "  fall 2",
    "  rise 1",
    "}",
    "vrrp_instance lab_api {",
    "  state BACKUP",
    `  interface ${LB_INTERFACE}`,
    `  virtual_router_id ${VRRP_ROUTER_ID}`,
    `  priority ${Math.max(1, 150 - 10 * p.rank)}`,
    "  advert_int 1",
    `  unicast_src_ip ${p.self.ip}`,
    "  unicast_peer {",
    ...p.peers.map((ip) => `    ${ip}`),
    "  }",
    "  virtual_ipaddress {",
    `    ${p.vip}/${p.prefix} dev ${LB_INTERFACE}`,
    "  }",
    "  track_script {",
    "    haproxy_running",
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The files an lb machine's cloud-config writes before it (re)starts haproxy and keepalived. */
export function lbFiles(p: LbPeers): { path: string; permissions: string; content: string }[] {
  return [
    { path: HAPROXY_CFG_PATH, permissions: "0644", content: renderHaproxyCfg(p) },
    { path: KEEPALIVED_CONF_PATH, permissions: "0644", content: renderKeepalivedConf(p) },
  ];
}
