// When a VM counts as ready: running, and for the lab-test guest also one more LAB-READY line on
// its serial console (the guest prints it once it has its DHCP lease). The serial log is read
// straight from $LAB_RUN, as `lab events` reads the event log: the CLI runs on the daemon's host.
import { readFile } from "node:fs/promises";
import type { LabClient } from "../client/client.js";
import { ConflictError, NotReadyError } from "../errors.js";
import { labDirs, paths } from "../state/paths.js";
import type { VmStatus } from "../vm/status.js";

export const READY_MARKER = "LAB-READY {";
export const READY_GUEST = "lab-test";

export const serialLogOf = (vm: string) => paths(labDirs()).vm(vm).serialLog;

/** How many ready lines the log holds; undefined when the log cannot be read for lack of rights. */
export async function readyCount(serialLog: string): Promise<number | undefined> {
  try {
    const text = await readFile(serialLog, "utf8");
    return text.split("\n").filter((l) => l.includes(READY_MARKER)).length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return undefined;
    return 0;
  }
}

export interface ReadyWait {
  client: LabClient;
  vm: string;
  /** Ready lines in the log before this boot. */
  before: number;
  timeoutMs: number;
  signal?: AbortSignal;
  serialLog?: string;
}

const vmPath = (name: string) => `/v1/vms/${encodeURIComponent(name)}`;

async function stillRunning(client: LabClient, vm: string): Promise<void> {
  const s = await client.call<VmStatus>("GET", vmPath(vm));
  if (s.state === "running") return;
  const tail = s.lastExit?.logTail ? `; last output: ${s.lastExit.logTail.split("\n").slice(-1)[0]}` : "";
  throw new ConflictError(`VM ${vm} is ${s.state} before it was ready${tail}`, {
    hint: `see 'lab vm logs ${vm}'`,
  });
}

/** Waits for the next ready line; fails early when the VM stops. Unreadable log: running is ready. */
export async function waitForReadyLine(w: ReadyWait): Promise<"ready" | "running"> {
  const log = w.serialLog ?? serialLogOf(w.vm);
  const deadline = Date.now() + w.timeoutMs;
  let lastCheck = Date.now();
  for (;;) {
    w.signal?.throwIfAborted();
    const n = await readyCount(log);
    if (n === undefined) {
      await stillRunning(w.client, w.vm);
      return "running";
    }
    if (n > w.before) return "ready";
    if (Date.now() - lastCheck > 1000) {
      await stillRunning(w.client, w.vm);
      lastCheck = Date.now();
    }
    if (Date.now() > deadline)
      throw new NotReadyError(
        `VM ${w.vm} printed no LAB-READY line within ${Math.round(w.timeoutMs / 1000)} s`,
        {
          hint: `see 'lab vm logs ${w.vm}'`,
        },
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
