// The topology picture, computed: the host's uplink on top, one column per network (its bridge,
// gateway, NAT, DHCP and mirror in a header box), its VMs stacked below with their fleet units.
// Pure: the page only draws the boxes and lines this returns.

export interface NetView {
  name: string;
  subnet: string;
  bridge: string;
  gateway: string;
  dhcp: string;
  domain: string;
  /** Observed: bridge present, firewall (NAT) rules in place, dnsmasq running. */
  bridgeUp: boolean;
  nat: boolean;
  dns: boolean;
  mirror?: string;
}

export interface UnitView {
  name: string;
  state: string;
}

export interface VmView {
  name: string;
  role: string;
  state: string;
  network: string;
  ip?: string;
  mac?: string;
  uptimeSeconds?: number;
  /** uptimeSeconds as people say it (formatUptime). */
  uptime: string;
  ready: boolean;
  /** fleet's machine id when fleet lists a machine with this VM's IP. */
  machineId?: string;
  units: UnitView[];
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Picture {
  width: number;
  height: number;
  uplink: Rect;
  networks: (Rect & { net: NetView })[];
  vms: (Rect & { vm: VmView })[];
  /** Polylines as flat [x1, y1, x2, y2, ...] lists. */
  links: number[][];
}

export const SIZES = {
  margin: 20,
  columnWidth: 300,
  columnGap: 40,
  uplinkHeight: 44,
  rowGap: 36,
  netHeight: 104,
  vmIndent: 24,
  vmBase: 76,
  unitLine: 16,
  vmGap: 14,
};

function vmHeight(vm: VmView): number {
  return SIZES.vmBase + vm.units.length * SIZES.unitLine;
}

/** VMs whose network is not (or no longer) in the ledger get a column of their own. */
export const NO_NETWORK = "(no network)";

export function layoutTopology(networks: NetView[], vms: VmView[]): Picture {
  const S = SIZES;
  const columns: NetView[] = [...networks].sort((a, b) => a.name.localeCompare(b.name));
  const known = new Set(columns.map((n) => n.name));
  const orphans = vms.filter((v) => !known.has(v.network));
  if (orphans.length > 0)
    columns.push({
      name: NO_NETWORK,
      subnet: "",
      bridge: "",
      gateway: "",
      dhcp: "",
      domain: "",
      bridgeUp: false,
      nat: false,
      dns: false,
    });
  const n = Math.max(columns.length, 1);
  const width = 2 * S.margin + n * S.columnWidth + (n - 1) * S.columnGap;
  const uplink: Rect = { x: S.margin, y: S.margin, w: width - 2 * S.margin, h: S.uplinkHeight };
  const netTop = uplink.y + uplink.h + S.rowGap;
  const picture: Picture = { width, height: 0, uplink, networks: [], vms: [], links: [] };
  let bottom = netTop;
  columns.forEach((net, i) => {
    const x = S.margin + i * (S.columnWidth + S.columnGap);
    const box = { x, y: netTop, w: S.columnWidth, h: S.netHeight, net };
    picture.networks.push(box);
    const mid = x + S.columnWidth / 2;
    if (net.name !== NO_NETWORK) picture.links.push([mid, uplink.y + uplink.h, mid, netTop]);
    const members = (net.name === NO_NETWORK ? orphans : vms.filter((v) => v.network === net.name)).sort(
      (a, b) => a.name.localeCompare(b.name),
    );
    let y = netTop + S.netHeight + S.vmGap;
    const bus = x + S.vmIndent / 2;
    for (const vm of members) {
      const h = vmHeight(vm);
      picture.vms.push({ x: x + S.vmIndent, y, w: S.columnWidth - S.vmIndent, h, vm });
      if (net.name !== NO_NETWORK)
        picture.links.push([bus, netTop + S.netHeight, bus, y + h / 2, x + S.vmIndent, y + h / 2]);
      y += h + S.vmGap;
    }
    bottom = Math.max(bottom, y);
  });
  picture.height = bottom + S.margin;
  return picture;
}

/** How long a VM has been up, as people say it: 42s, 7m, 3h12m, 2d4h. */
export function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined) return "";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}
