// iptables through whichever backend `iptables` resolves to (nft or legacy), or the one named
// by LAB_IPTABLES. `-w` waits for the xtables lock instead of failing when another tool holds it.
import type { Observed } from "../net/iptables-plan.js";
import { parseIptablesS } from "../net/iptables-plan.js";
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
