// The web page's secret: made by labd, kept in a root:lab 0640 file, checked in constant time on
// every request that reaches lab's data, actions or consoles.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The page names its cookie after its port: cookies ignore ports, and two labds' pages must not clash. */
export const TOKEN_COOKIE_PREFIX = "lab_web_";
/** A websocket client that cannot send headers names the token as its subprotocol. */
export const TOKEN_PROTOCOL_PREFIX = "lab-token.";

export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Hashing first makes both sides the same length, so the comparison leaks nothing, not even length. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined || expected === "") return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * The tokens a request carries: `Authorization: Bearer`, the page's cookies, a websocket
 * subprotocol. Any cookie of ours counts, whatever port it names: through an ssh forward the
 * browser's port is not the listener's.
 */
export function tokensFromHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  const auth = headers.authorization;
  if (auth?.startsWith("Bearer ")) out.push(auth.slice("Bearer ".length).trim());
  for (const [key, value] of parseCookies(headers.cookie ?? ""))
    if (key.startsWith(TOKEN_COOKIE_PREFIX)) out.push(value);
  const protocols = String(headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  for (const p of protocols)
    if (p.startsWith(TOKEN_PROTOCOL_PREFIX)) out.push(p.slice(TOKEN_PROTOCOL_PREFIX.length));
  return out;
}

/** True when any token the request carries is the right one (each compared in constant time). */
export function requestHasToken(expected: string, headers: IncomingHttpHeaders): boolean {
  let ok = false;
  for (const t of tokensFromHeaders(headers)) ok = tokenMatches(expected, t) || ok;
  return ok;
}

export function parseCookies(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    if (out.has(key)) continue;
    try {
      out.set(key, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // A malformed cookie of some other site on this host is not ours to judge.
    }
  }
  return out;
}
