// The files `lab up` adds to a machine's cloud-config from what only the whole plan knows: an etcd
// cluster's members (etcd-plan.ts) and, on an lb machine, haproxy's and keepalived's configuration
// (lb-plan.ts). Pure.
import { parseCidr } from "../../net/cidr.js";
import type { DesiredLab, DesiredMachine } from "../file/desired.js";
import { LB_ROLE } from "./check-vip.js";
import { etcdClusterFiles } from "./etcd-plan.js";
import { lbFiles, lbPeers } from "./lb-plan.js";

export function planFilesFor(m: DesiredMachine, lab: DesiredLab, ips: Map<string, string>) {
  const files = etcdClusterFiles(m, lab.machines, ips);
  const net = lab.networks.find((n) => n.name === m.network);
  const vip = net?.cluster?.apiVip;
  if (m.role === LB_ROLE && net && vip !== undefined)
    files.push(...lbFiles(lbPeers(m, lab.machines, ips, vip, parseCidr(net.subnet).prefix)));
  return files;
}
