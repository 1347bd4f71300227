// iproute2: argv builders and parsers for `ip -j` output, run through an injected Host.
import type { Host } from "./host.js";

export interface HostAddress {
  ifname: string;
  local: string;
  prefixlen: number;
}

export interface HostRoute {
  dst: string;
  dev?: string;
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function parseIpAddrJson(text: string): HostAddress[] {
  const links = JSON.parse(text || "[]") as IpAddrJson[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === "inet")
      .map((a) => ({ ifname: l.ifname, local: a.local, prefixlen: a.prefixlen })),
  );
}

export function parseIpRouteJson(text: string): HostRoute[] {
  const routes = JSON.parse(text || "[]") as { dst: string; dev?: string }[];
  return routes.map((r) => ({ dst: r.dst, dev: r.dev }));
}

export async function listAddresses(host: Host, dev?: string): Promise<HostAddress[]> {
  const argv = ["ip", "-j", "-4", "addr", "show", ...(dev ? ["dev", dev] : [])];
  const r = await host.run(argv, { allowFailure: dev !== undefined });
  return r.exitCode === 0 ? parseIpAddrJson(r.stdout) : [];
}

export async function listRoutes(host: Host): Promise<HostRoute[]> {
  const r = await host.run(["ip", "-j", "-4", "route", "show", "table", "main"]);
  return parseIpRouteJson(r.stdout);
}

export async function linkExists(host: Host, dev: string): Promise<boolean> {
  const r = await host.run(["ip", "-j", "link", "show", "dev", dev], { allowFailure: true });
  return r.exitCode === 0;
}

/** The link's alias (ifalias), "" when it has none, undefined when there is no such link. */
export async function linkAlias(host: Host, dev: string): Promise<string | undefined> {
  const r = await host.run(["ip", "-j", "link", "show", "dev", dev], { allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  const [link] = JSON.parse(r.stdout || "[]") as { ifalias?: string }[];
  return link?.ifalias ?? "";
}

export async function listLinkNames(host: Host): Promise<string[]> {
  const r = await host.run(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname);
}

export const addAddressArgv = (dev: string, cidr: string) => ["ip", "addr", "replace", cidr, "dev", dev];
export const linkUpArgv = (dev: string) => ["ip", "link", "set", "dev", dev, "up"];
export const deleteLinkArgv = (dev: string) => ["ip", "link", "del", "dev", dev];
