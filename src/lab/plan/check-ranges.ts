// Cluster planning rules for address ranges: a lab subnet, its flannel pod network and its
// Kubernetes service range must not overlap each other, the host's routes and addresses, or
// another lab network; the pod network must have room for a subnet per machine. Pure.

import type { FieldProblem } from "../../field-problems.js";
import type { HostAddress, HostRoute } from "../../host/ip.js";
import {
  addressOverlap,
  type Cidr,
  isPrivate,
  overlaps,
  parseCidr,
  parseDhcpRange,
  planAddresses,
  routeOverlap,
  validateLabSubnet,
} from "../../net/cidr.js";
import type { NetworkSpec } from "../../state/ledger.js";
import type { DesiredNetwork } from "../file/desired.js";

export interface HostRanges {
  routes: HostRoute[];
  addresses: HostAddress[];
}

interface NamedRange {
  field: string;
  cidr: Cidr;
  network: string;
}

/** Ports the lab's components listen on; a node-port range must leave them alone. */
export const COMPONENT_PORTS = [22, 2379, 2380, 4001, 8080, 8285, 49153];

function parsed(field: string, text: string, problems: FieldProblem[], check = parseCidr): Cidr | undefined {
  try {
    return check(text);
  } catch (err) {
    problems.push({ path: field, message: (err as Error).message });
    return undefined;
  }
}

/** Every range a network declares, parsed; bad ones become problems. */
function rangesOf(net: DesiredNetwork, problems: FieldProblem[]): NamedRange[] {
  const out: NamedRange[] = [];
  const add = (field: string, text: string | undefined, check = parseCidr) => {
    if (text === undefined) return;
    const cidr = parsed(field, text, problems, check);
    if (cidr) out.push({ field, cidr, network: net.name });
  };
  add(`${net.field}.subnet`, net.subnet, (t) => validateLabSubnet(t));
  add(`${net.field}.cluster.podNetwork`, net.cluster?.podNetwork);
  add(`${net.field}.cluster.serviceRange`, net.cluster?.serviceRange);
  for (const r of out.slice(1)) {
    if (!isPrivate(r.cidr))
      problems.push({
        path: r.field,
        message: `${r.cidr.text} is not a private range (use part of 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)`,
      });
  }
  return out;
}

function hostCollision(r: NamedRange, host: HostRanges, labBridges: Set<string>): string | undefined {
  const isLab = (dev: string) => labBridges.has(dev);
  const route = routeOverlap(r.cidr, host.routes, isLab);
  if (route) return `the host route ${route.dst}${route.dev ? ` via ${route.dev}` : ""}`;
  const a = addressOverlap(r.cidr, host.addresses, isLab);
  if (a) return `the host address ${a.local}/${a.prefixlen} on ${a.ifname}`;
  return undefined;
}

function otherLabCollision(r: NamedRange, labNetworks: NetworkSpec[]): string | undefined {
  for (const n of labNetworks) {
    if (n.name === r.network) continue;
    if (overlaps(r.cidr, parseCidr(n.subnet))) return `lab network ${n.name} (${n.subnet}), which is up`;
  }
  return undefined;
}

function checkNodePorts(net: DesiredNetwork, problems: FieldProblem[]): void {
  const text = net.cluster?.nodePorts;
  if (!text) return;
  const [start, end] = text.split("-").map(Number) as [number, number];
  const field = `${net.field}.cluster.nodePorts`;
  if (start < 1 || end > 65535 || start > end) {
    problems.push({ path: field, message: `${text} is not an ascending range of ports from 1 to 65535` });
    return;
  }
  const used = COMPONENT_PORTS.filter((p) => p >= start && p <= end);
  if (used.length > 0)
    problems.push({
      path: field,
      message: `${text} includes port(s) the cluster's components use: ${used.join(", ")}`,
    });
}

function checkPodCapacity(net: DesiredNetwork, machines: number, problems: FieldProblem[]): void {
  const c = net.cluster;
  if (!c) return;
  const pod = parsed(`${net.field}.cluster.podNetwork`, c.podNetwork, []);
  if (!pod) return;
  const field = `${net.field}.cluster.podSubnetLength`;
  if (c.podSubnetLength <= pod.prefix) {
    problems.push({
      path: field,
      message: `/${c.podSubnetLength} per node must be longer than the pod network ${pod.text}`,
    });
    return;
  }
  const nodes = 2 ** (c.podSubnetLength - pod.prefix);
  if (nodes < machines)
    problems.push({
      path: `${net.field}.cluster.podNetwork`,
      message: `${pod.text} with /${c.podSubnetLength} per node holds ${nodes} node(s), but ${machines} machines use network ${net.name}`,
    });
}

function checkDhcpRange(net: DesiredNetwork, problems: FieldProblem[]): void {
  if (!net.dhcpRange) return;
  try {
    const subnet = parseCidr(net.subnet);
    parseDhcpRange(net.dhcpRange, subnet, planAddresses(subnet).gateway);
  } catch (err) {
    problems.push({ path: `${net.field}.dhcpRange`, message: (err as Error).message });
  }
}

/** All range problems of the file's networks; `machinesPerNet` sizes the pod networks. */
export function checkRanges(
  networks: DesiredNetwork[],
  machinesPerNet: Map<string, number>,
  host: HostRanges,
  labNetworks: NetworkSpec[],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const all = networks.flatMap((n) => {
    checkDhcpRange(n, problems);
    checkNodePorts(n, problems);
    checkPodCapacity(n, machinesPerNet.get(n.name) ?? 0, problems);
    return rangesOf(n, problems);
  });
  // A bridge of a lab network carries that network's own route: it is checked as a lab network.
  const labBridges = new Set(labNetworks.map((n) => n.bridge));
  all.forEach((r, i) => {
    for (const other of all.slice(0, i)) {
      if (overlaps(r.cidr, other.cidr))
        problems.push({
          path: r.field,
          message: `${r.cidr.text} overlaps ${other.field} ${other.cidr.text}`,
        });
    }
    const clash = hostCollision(r, host, labBridges) ?? otherLabCollision(r, labNetworks);
    if (clash) problems.push({ path: r.field, message: `${r.cidr.text} overlaps ${clash}` });
  });
  return problems;
}
