// lab net up|down|status|list

import type { Network } from "../../api/networks.js";
import { labApi } from "../../client/api.js";
import {
  type OutputOpts,
  outputFormat,
  printJson,
  printKeyValues,
  printListing,
  printTable,
  progressPrinter,
} from "../output.js";

interface NetOpts {
  subnet?: string;
  bridge?: string;
  domain?: string;
  dhcpRange?: string;
}
type Opts = NetOpts & OutputOpts;

export async function netUpCommand(name: string | undefined, opts: Opts): Promise<void> {
  const r = await labApi().networks.up(
    { name, subnet: opts.subnet, bridge: opts.bridge, domain: opts.domain, dhcpRange: opts.dhcpRange },
    { onProgress: progressPrinter(!!opts.json) },
  );
  if (opts.json) return printJson(r);
  const n = r.network;
  const what = r.changed.length === 0 ? "already up, nothing changed" : `up (${r.changed.join(", ")})`;
  process.stdout.write(`network ${n.name}: ${what}\n`);
  printKeyValues([
    ["bridge", n.bridge],
    ["subnet", n.subnet],
    ["gateway", n.gateway],
    ["dhcp range", `${n.dhcpStart}-${n.dhcpEnd}`],
    ["domain", n.domain],
  ]);
}

export async function netDownCommand(name: string | undefined, opts: Opts): Promise<void> {
  const r = await labApi().networks.down(name ?? "default");
  if (opts.json) return printJson(r);
  process.stdout.write(`network ${name ?? "default"}: ${r.removed ? "removed" : "was not up"}\n`);
}

const ovsText = (s: Network) => `${s.ovs.kind} (${s.ovs.datapath} datapath)`;

function showNetwork(s: Network): void {
  const n = s.network;
  process.stdout.write(`network ${n.name}\n`);
  printKeyValues([
    ["bridge", `${n.bridge} (${s.bridge ? "present" : "MISSING"})`],
    ["ovs", ovsText(s)],
    ["firewall rules", s.rules ? "in place" : "MISSING (run 'lab net up' to repair)"],
    ["subnet", n.subnet],
    ["gateway", n.gateway],
    ["dhcp range", `${n.dhcpStart}-${n.dhcpEnd}`],
    ["domain", n.domain],
    ["dnsmasq", s.dnsmasqPid ? `running (pid ${s.dnsmasqPid})` : "NOT RUNNING"],
    ["reservations", s.reservations.map((r) => `${r.name}=${r.ip}`).join(" ") || "none"],
  ]);
}

const row = (s: Network) => [
  s.network.name,
  s.network.bridge,
  s.network.subnet,
  s.network.gateway,
  s.network.domain,
  s.dnsmasqPid ? "running" : "stopped",
  s.reservations.length,
];
const HEAD = ["NAME", "BRIDGE", "SUBNET", "GATEWAY", "DOMAIN", "DNSMASQ", "VMS"];

function wideTable(list: Network[]): void {
  printTable(
    [...HEAD, "DHCP RANGE", "BRIDGE UP", "RULES", "OVS"],
    list.map((s) => [
      ...row(s),
      `${s.network.dhcpStart}-${s.network.dhcpEnd}`,
      s.bridge ? "yes" : "MISSING",
      s.rules ? "yes" : "MISSING",
      ovsText(s),
    ]),
  );
}

/** With or without a name, a listing: JSON is always a list of Network objects. */
export async function netStatusCommand(name: string | undefined, opts: Opts): Promise<void> {
  const api = labApi();
  const list = name ? [await api.networks.get(name)] : await api.networks.list();
  printListing(list, outputFormat(opts), {
    name: (s) => s.network.name,
    table: (l) => {
      for (const s of l) showNetwork(s);
      if (l.length === 0) process.stderr.write("no networks; create one with 'lab net up'\n");
    },
    wide: wideTable,
  });
}

export async function netListCommand(opts: Opts): Promise<void> {
  const list = await labApi().networks.list();
  printListing(list, outputFormat(opts), {
    name: (s) => s.network.name,
    table: (l) => printTable(HEAD, l.map(row)),
    wide: wideTable,
  });
}
