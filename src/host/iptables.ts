// iptables through whichever backend `iptables` resolves to (nft or legacy), or the one named
// by LAB_IPTABLES. `-w` waits for the xtables lock instead of failing when another tool holds it.
import type { Host } from "./host.js";

export const iptablesBinary = () => process.env.LAB_IPTABLES || "iptables";

export async function observeIptables(host: Host): Promise<Observed> {
  const bin = iptablesBinary();
  const [filter, nat] = await Promise.all([
    host.run([bin, "-w", "-t", "filter", "-S"]),
    host.run([bin, "-w", "-t", "nat", "-S"]),
  ]);
  return { filter: parseIptablesS(filter.stdout), nat: parseIptablesS(nat.stdout) };
}

export async function applyIptables(host: Host, steps: readonly string[][]): Promise<void> {
  for (const step of steps) await host.run([iptablesBinary(), "-w", ...step]);
}

export function parseIptablesBackend(versionOutput: string): "nft" | "legacy" | "unknown" {
  if (/nf_tables/.test(versionOutput)) return "nft";
  if (/legacy/.test(versionOutput)) return "legacy";
  return "unknown";
}

/** What `iptables -S` shows for one table: chains that exist and rules per chain. */
export interface ObservedTable {
  chains: Set<string>;
  rules: Map<string, string[][]>;
}

/** Parses `iptables -t TABLE -S` output into chains and rule specs (quotes removed). */
export function parseIptablesS(text: string): ObservedTable {
  const chains = new Set<string>();
  const rules = new Map<string, string[][]>();
  for (const line of text.split("\n")) {
    const words = splitWords(line.trim());
    if (words[0] === "-P" || words[0] === "-N") chains.add(words[1]!);
    if (words[0] === "-A") {
      const list = rules.get(words[1]!) ?? [];
      list.push(words.slice(2));
      rules.set(words[1]!, list);
    }
  }
  return { chains, rules };
}

function splitWords(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  return out;
}

export type Observed = Record<"filter" | "nat", ObservedTable>;
