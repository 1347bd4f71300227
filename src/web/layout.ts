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
  ip?: string | null;
  mac?: string | null;
  uptimeSeconds?: number | null;
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

/** A network with many VMs gets up to this many sub-columns of cards, so it grows wider, not only taller. */
export const MAX_VM_COLUMNS = 3;
const VMS_PER_COLUMN = 5;

function vmColumns(count: number): number {
  return Math.min(MAX_VM_COLUMNS, Math.max(1, Math.ceil(count / VMS_PER_COLUMN)));
}

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
  const members = columns.map((net) =>
    (net.name === NO_NETWORK ? orphans : vms.filter((v) => v.network === net.name)).sort((a, b) =>
      a.name.localeCompare(b.name),
    ),
  );
  const cardWidth = S.columnWidth - S.vmIndent;
  const widths = members.map((m) => {
    const k = vmColumns(m.length);
    return S.vmIndent + k * cardWidth + (k - 1) * S.vmGap;
  });
  const width =
    2 * S.margin + widths.reduce((a, w) => a + w, 0) + Math.max(0, columns.length - 1) * S.columnGap;
  const full = Math.max(width, 2 * S.margin + S.columnWidth);
  const uplink: Rect = { x: S.margin, y: S.margin, w: full - 2 * S.margin, h: S.uplinkHeight };
  const netTop = uplink.y + uplink.h + S.rowGap;
  const picture: Picture = { width: full, height: 0, uplink, networks: [], vms: [], links: [] };
  let bottom = netTop;
  let x = S.margin;
  columns.forEach((net, i) => {
    const w = widths[i]!;
    picture.networks.push({ x, y: netTop, w, h: S.netHeight, net });
    if (net.name !== NO_NETWORK) picture.links.push([x + w / 2, uplink.y + uplink.h, x + w / 2, netTop]);
    const k = vmColumns(members[i]!.length);
    const perColumn = Math.ceil(members[i]!.length / k);
    const bus = x + S.vmIndent / 2;
    for (let c = 0; c < k; c++) {
      let y = netTop + S.netHeight + S.vmGap;
      const cx = x + S.vmIndent + c * (cardWidth + S.vmGap);
      for (const vm of members[i]!.slice(c * perColumn, (c + 1) * perColumn)) {
        const h = vmHeight(vm);
        picture.vms.push({ x: cx, y, w: cardWidth, h, vm });
        if (net.name !== NO_NETWORK)
          picture.links.push([bus, netTop + S.netHeight, bus, y + h / 2, cx, y + h / 2]);
        y += h + S.vmGap;
      }
      bottom = Math.max(bottom, y);
    }
    x += w + S.columnGap;
  });
  picture.height = bottom + S.margin;
  return picture;
}

/** How long a VM has been up, as people say it: 42s, 7m, 3h12m, 2d4h. */
export function formatUptime(seconds: number | null | undefined): string {
  if (seconds === undefined || seconds === null) return "";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}
