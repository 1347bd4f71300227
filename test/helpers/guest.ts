// Reading the lab-test guest's machine-readable ready line from a VM's serial log.
import { readFile } from "node:fs/promises";
import path from "node:path";

export interface ReadyLine {
  name: string | null;
  mac: string | null;
  ip: string | null;
  hostname: string | null;
  marker: boolean;
  boots: number;
  configDrive: string;
}

export function serialLogPath(run: string, vm: string): string {
  return path.join(run, "consoles", `${vm}.log`);
}

export async function readyLines(run: string, vm: string): Promise<ReadyLine[]> {
  const text = await readFile(serialLogPath(run, vm), "utf8").catch(() => "");
  // The last line may still be being written: only whole lines count.
  return text
    .split("\n")
    .slice(0, -1)
    .filter((l) => l.includes("LAB-READY {"))
    .map((l) => JSON.parse(l.slice(l.indexOf("{")).trim()) as ReadyLine);
}

/** Waits for the `count`-th ready line of the VM (boots are counted across restarts). */
export async function waitForReady(
  run: string,
  vm: string,
  count = 1,
  timeoutMs = 90_000,
): Promise<ReadyLine> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const lines = await readyLines(run, vm);
    if (lines.length >= count) return lines[count - 1]!;
    await new Promise((r) => setTimeout(r, 250));
  }
  const log = await readFile(serialLogPath(run, vm), "utf8").catch(() => "(no serial log)");
  throw new Error(
    `VM ${vm} printed no ready line #${count} within ${timeoutMs} ms; serial log tail:\n${log.slice(-2000)}`,
  );
}
