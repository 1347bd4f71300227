// Pure planning of a lab network: turns a `net up` request plus what the ledger and the host
// already have into a network spec, or a clear error naming what collides.
import { ConflictError, UsageError } from "../errors.js";
import type { HostAddress, HostRoute } from "../host/ip.js";
import type { Ledger, NetworkSpec } from "../state/ledger.js";
import {
  defaultBridgeName,
  HASHED_TAP_PREFIX,
  tapName,
  validateIfName,
  validateNetName,
} from "../state/names.js";
import {
  addressOverlap,
  type Cidr,
  overlaps,
  parseCidr,
  parseDhcpRange,
  planAddresses,
  routeOverlap,
  validateLabSubnet,
} from "./cidr.js";

export interface NetUpRequest {
  name?: string;
  subnet?: string;
  bridge?: string;
  domain?: string;
  dhcpRange?: string;
}

export interface HostView {
  addresses: HostAddress[];
  routes: HostRoute[];
  links: string[];
}

export const DEFAULT_NETWORK = "default";
export const DEFAULT_SUBNET = "172.16.11.0/24";
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Returns the existing spec when the request matches it, a new spec otherwise. */
export function planNetwork(
  req: NetUpRequest,
  ledger: Ledger,
  view: HostView,
  now = new Date(),
): NetworkSpec {
  const name = validateNetName(req.name ?? DEFAULT_NETWORK);
  const existing = ledger.networks[name];
  if (existing) return checkSameAsExisting(req, existing);

  const bridge = validateIfName(req.bridge ?? defaultBridgeName(name));
  if (bridge.startsWith(tapName("")) || bridge.startsWith(HASHED_TAP_PREFIX)) {
    throw new ConflictError(`bridge name ${bridge} has the form of a VM's tap (${tapName("NAME")})`, {
      hint: `pick a bridge name that does not start with '${tapName("")}'`,
    });
  }
  const domain = (req.domain ?? "lab").toLowerCase();
  if (!DOMAIN.test(domain)) {
    throw new UsageError(`invalid domain ${JSON.stringify(req.domain)}`, {
      hint: "use a DNS name such as lab or lab.test",
    });
  }
  const others = Object.values(ledger.networks);
  const clash = others.find((n) => n.bridge === bridge);
  if (clash) throw new ConflictError(`bridge ${bridge} already belongs to lab network ${clash.name}`);
  if (view.links.includes(bridge)) {
    throw new ConflictError(`an interface named ${bridge} already exists on this host`, {
      hint: "pick another name with --bridge, or remove that interface",
    });
  }
  const subnet = req.subnet ? validateLabSubnet(req.subnet) : pickSubnet(ledger, view);
  checkOverlaps(subnet, ledger, view);
  const plan = planAddresses(subnet);
  const range = req.dhcpRange ? parseDhcpRange(req.dhcpRange, subnet, plan.gateway) : undefined;
  return {
    name,
    subnet: subnet.text,
    prefix: subnet.prefix,
    gateway: plan.gateway,
    bridge,
    domain,
    dhcpStart: range?.start ?? plan.dhcpStart,
    dhcpEnd: range?.end ?? plan.dhcpEnd,
    createdAt: now.toISOString(),
  };
}

function checkSameAsExisting(req: NetUpRequest, n: NetworkSpec): NetworkSpec {
  const differs: string[] = [];
  if (req.subnet && parseCidr(req.subnet).text !== n.subnet) differs.push(`subnet ${n.subnet}`);
  if (req.bridge && req.bridge !== n.bridge) differs.push(`bridge ${n.bridge}`);
  if (req.domain && req.domain.toLowerCase() !== n.domain) differs.push(`domain ${n.domain}`);
  if (req.dhcpRange) {
    const r = parseDhcpRange(req.dhcpRange, parseCidr(n.subnet), n.gateway);
    if (r.start !== n.dhcpStart || r.end !== n.dhcpEnd)
      differs.push(`DHCP range ${n.dhcpStart}-${n.dhcpEnd}`);
  }
  if (differs.length > 0) {
    throw new ConflictError(`network ${n.name} already exists with ${differs.join(", ")}`, {
      hint: `run 'lab net down ${n.name}' first to change it`,
    });
  }
  return n;
}

export function checkOverlaps(subnet: Cidr, ledger: Ledger, view: HostView): void {
  for (const other of Object.values(ledger.networks)) {
    if (overlaps(subnet, parseCidr(other.subnet))) {
      throw new ConflictError(`subnet ${subnet.text} overlaps lab network ${other.name} (${other.subnet})`, {
        hint: "choose a subnet that does not overlap, e.g. the next free /24",
      });
    }
  }
  const a = addressOverlap(subnet, view.addresses);
  if (a) {
    throw new ConflictError(`subnet ${subnet.text} overlaps ${a.local}/${a.prefixlen} on ${a.ifname}`, {
      hint: "choose a subnet the host does not already use (see 'ip addr')",
    });
  }
  const r = routeOverlap(subnet, view.routes);
  if (r) {
    throw new ConflictError(
      `subnet ${subnet.text} overlaps the host route ${r.dst}${r.dev ? ` via ${r.dev}` : ""}`,
      {
        hint: "choose a subnet the host does not route elsewhere (see 'ip route')",
      },
    );
  }
}

/** The default network gets 172.16.11.0/24; others the next /24 after it that nothing uses. */
function pickSubnet(ledger: Ledger, view: HostView): Cidr {
  for (let third = 11; third < 256; third++) {
    const c = parseCidr(`172.16.${third}.0/24`);
    try {
      checkOverlaps(c, ledger, view);
      return c;
    } catch {}
  }
  throw new ConflictError("no free /24 left in 172.16.0.0/16", { hint: "pass --subnet" });
}
