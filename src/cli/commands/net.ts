// lab net up|down|status|list
import { labApi } from "../../client/api.js";
import { printJson, printKeyValues, printTable, progressPrinter } from "../output.js";

interface NetOpts {
  subnet?: string;
  bridge?: string;
  domain?: string;
  dhcpRange?: string;
  json?: boolean;
}

export async function netUpCommand(name: string | undefined, opts: NetOpts): Promise<void> {
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

export async function netDownCommand(name: string | undefined, opts: NetOpts): Promise<void> {
  const r = await labApi().networks.down(name ?? "default");
  if (opts.json) return printJson(r);
  process.stdout.write(`network ${name ?? "default"}: ${r.removed ? "removed" : "was not up"}\n`);
}

export async function netStatusCommand(name: string | undefined, opts: NetOpts): Promise<void> {
  const api = labApi();
  const list = name ? [await api.networks.get(name)] : await api.networks.list();
  if (opts.json) return printJson(name ? list[0] : list);
  for (const s of list) {
    const n = s.network;
    process.stdout.write(`network ${n.name}\n`);
    printKeyValues([
      ["bridge", `${n.bridge} (${s.bridge ? "present" : "MISSING"})`],
      ["ovs", `${s.ovs.kind} (${s.ovs.datapath} datapath)`],
      ["firewall rules", s.rules ? "in place" : "MISSING (run 'lab net up' to repair)"],
      ["subnet", n.subnet],
      ["gateway", n.gateway],
      ["dhcp range", `${n.dhcpStart}-${n.dhcpEnd}`],
      ["domain", n.domain],
      ["dnsmasq", s.dnsmasqPid ? `running (pid ${s.dnsmasqPid})` : "NOT RUNNING"],
      ["reservations", s.reservations.map((r) => `${r.name}=${r.ip}`).join(" ") || "none"],
    ]);
  }
  if (list.length === 0) process.stdout.write("no networks; create one with 'lab net up'\n");
}

export async function netListCommand(opts: NetOpts): Promise<void> {
  const list = await labApi().networks.list();
  if (opts.json) return printJson(list.map((s) => s.network));
  printTable(
    ["NAME", "BRIDGE", "SUBNET", "GATEWAY", "DOMAIN", "DNSMASQ", "VMS"],
    list.map((s) => [
      s.network.name,
      s.network.bridge,
      s.network.subnet,
      s.network.gateway,
      s.network.domain,
      s.dnsmasqPid ? "running" : "stopped",
      s.reservations.length,
    ]),
  );
}
