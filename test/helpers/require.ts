// Integration prerequisites: in CI a missing one fails the run; elsewhere the test is skipped
// with the reason.
import { execFileSync } from "node:child_process";

export const inCI = process.env.CI === "true";

export function missingPrereqs(tools: string[]): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const t of tools) {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", t], { stdio: "ignore" });
    } catch {
      missing.push(t);
    }
  }
  return missing;
}

/** Returns true when the suite should be skipped; throws in CI. */
export function skipUnless(tools: string[]): boolean {
  const missing = missingPrereqs(tools);
  if (missing.length === 0) return false;
  if (inCI)
    throw new Error(`integration prerequisites missing in CI: ${missing.join(", ")} (run npm run setup)`);
  console.warn(`skipping: missing ${missing.join(", ")}`);
  return true;
}

/** What any test that boots a lab VM on a lab network needs. */
export const VM_TOOLS = ["qemu-system-x86_64", "qemu-img", "ovs-vswitchd", "dnsmasq", "genisoimage"];
