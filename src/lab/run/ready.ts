// When a VM counts as ready: running, and one more marker line on its serial console than before
// this boot: LAB-READY for the lab-test guest (printed once it has its DHCP lease), and on guests
// that run units the end of the host key report of the role's lab-hostkeys.service, so that
// known_hosts can be written before `lab up` calls the machine ready. The serial log is read
// straight from $LAB_RUN, as `lab events` reads the event log: the CLI runs on the daemon's host.
import { readFile } from "node:fs/promises";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { ConflictError, NotReadyError } from "../../errors.js";
import { labDirs, paths } from "../../state/paths.js";

import { READY_MARKER } from "../../vm/console-markers.js";

export { HOSTKEYS_MARKER, READY_GUEST, READY_MARKER } from "../../vm/console-markers.js";

export const serialLogOf = (vm: string) => paths(labDirs()).vm(vm).serialLog;

/** How many marker lines the log holds; undefined when the log cannot be read for lack of rights. */
export async function readyCount(serialLog: string, marker = READY_MARKER): Promise<number | undefined> {
  try {
    const text = await readFile(serialLog, "utf8");
    return text.split("\n").filter((l) => l.includes(marker)).length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return undefined;
    return 0;
  }
}

export interface ReadyWait {
  client: LabClient;
  vm: string;
  /** Marker lines in the log before this boot. */
  before: number;
  /** The line to wait for (default READY_MARKER). */
  marker?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  serialLog?: string;
}

async function stillRunning(client: LabClient, vm: string): Promise<void> {
  const s = await labApi(client).vms.get(vm);
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
    const n = await readyCount(log, w.marker);
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
        `VM ${w.vm} printed no ${(w.marker ?? READY_MARKER).replace(/ \{$/, "")} line within ${Math.round(w.timeoutMs / 1000)} s`,
        {
          hint: `see 'lab vm logs ${w.vm}'`,
        },
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
