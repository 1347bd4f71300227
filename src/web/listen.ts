// Where the web page listens: loopback unless the user names another address with --listen.
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.js";

export const DEFAULT_WEB_PORT = 7780;
export const DEFAULT_WEB_HOST = "127.0.0.1";

export interface ListenAddress {
  host: string;
  port: number;
}

const HINT = "use ADDR or ADDR:PORT, e.g. 127.0.0.1:7780, 0.0.0.0:8080 or [::1]:7780";

/** Parses `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare `V6`; the port defaults to DEFAULT_WEB_PORT. */
export function parseListen(text: string | undefined): ListenAddress {
  if (text === undefined || text === "") return { host: DEFAULT_WEB_HOST, port: DEFAULT_WEB_PORT };
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (text.split(":").length === 2) {
    [host, portText] = text.split(":") as [string, string];
  }
  const valid = host.includes(":") ? ipaddr.IPv6.isValid(host) : ipaddr.IPv4.isValidFourPartDecimal(host);
  if (!valid) throw new UsageError(`--listen: ${JSON.stringify(host)} is not an IP address`, { hint: HINT });
  let port = DEFAULT_WEB_PORT;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535)
      throw new UsageError(`--listen: port ${JSON.stringify(portText)} is not 0-65535`, { hint: HINT });
  }
  return { host: ipaddr.parse(host).toString(), port };
}

/** How a browser writes the address (IPv6 in brackets). */
export function urlHost(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]` : a.host;
}

export function isLoopback(host: string): boolean {
  return ipaddr.isValid(host) && ipaddr.process(host).range() === "loopback";
}
