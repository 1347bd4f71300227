// Process inspection through /proc. A pid alone proves nothing: pids are reused after a host
// reboot and an orphan stays visible as a zombie until PID 1 reaps it, so liveness reads the
// process state and ownership reads the command line.
import { readFileSync } from "node:fs";

export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces or ')': the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

export function commandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((s) => s.length > 0);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its argv contains every marker (e.g. the pidfile path we gave it). */
export function isOurProcess(pid: number, markers: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  const argv = commandLine(pid);
  if (!argv) return false;
  return markers.every((m) => argv.some((a) => a.includes(m)));
}

export function readPidFile(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `signal` only when the pid still is the process we started. */
export function signalOurProcess(pid: number, markers: readonly string[], signal: NodeJS.Signals): boolean {
  if (!isOurProcess(pid, markers)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !isAlive(pid);
}
