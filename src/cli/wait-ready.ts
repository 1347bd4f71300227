// Waiting for a guest after `lab vm create|start|restart --wait`: one more marker line on its
// serial console than before this boot (LAB-READY for the lab-test guest, the ssh host key report
// for guests that run units). Images whose guest reports nothing are ready once running.
import type { LabApi } from "../client/api.js";
import { UsageError } from "../errors.js";
import { readyMarker } from "../lab/run/actions.js";
import {
  HOSTKEYS_MARKER,
  READY_MARKER,
  readyCount,
  serialLogOf,
  waitForReadyLine,
} from "../lab/run/ready.js";

/** `lab up`'s bounds: a busybox guest under TCG, or a systemd guest that reports host keys. */
const DEFAULT_MS = { [READY_MARKER]: 180_000, [HOSTKEYS_MARKER]: 600_000 } as Record<string, number>;

export interface Before {
  counts: Map<string, number>;
}

/**
 * Marker lines in the log before the boot this command causes. For start or create, a VM already
 * running boots no more: its latest marker line counts as this boot's (the log keeps every boot's
 * lines; one that has not printed it yet this boot is taken as ready). A restart always boots.
 */
export async function beforeBoot(api: LabApi, vm: string, reboots: boolean): Promise<Before> {
  const running =
    !reboots &&
    (await api.vms
      .get(vm)
      .then((s) => s.state === "running")
      .catch(() => false));
  const counts = new Map<string, number>();
  for (const marker of [READY_MARKER, HOSTKEYS_MARKER]) {
    const n = (await readyCount(serialLogOf(vm), marker)) ?? 0;
    counts.set(marker, running ? Math.max(0, n - 1) : n);
  }
  return { counts };
}

/** Waits until VM is ready; says on stderr what it waits for. Throws NotReadyError on timeout. */
export async function waitReady(
  api: LabApi,
  vm: string,
  before: Before,
  wait: { timeoutMs?: number },
  say: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const s = await api.vms.get(vm);
  const img = await api.images.get(s.image);
  const marker = await readyMarker(img.guest ?? undefined, s.role);
  if (marker === undefined) {
    if (s.state !== "running") throw new UsageError(`VM ${vm} is ${s.state}: nothing to wait for`);
    say(`VM ${vm}: running; image ${s.image} reports no readiness, so running counts as ready`);
    return "running";
  }
  const timeoutMs = wait.timeoutMs ?? DEFAULT_MS[marker] ?? 180_000;
  const what = marker === READY_MARKER ? "LAB-READY" : "its ssh host key report";
  say(`VM ${vm}: waiting up to ${Math.round(timeoutMs / 1000)} s for ${what} on its serial console`);
  const how = await waitForReadyLine({
    client: api.client,
    vm,
    before: before.counts.get(marker) ?? 0,
    marker,
    timeoutMs,
  });
  const line = how === "ready" ? `VM ${vm}: ready, ${s.ip}` : `VM ${vm}: running (serial log not readable)`;
  say(line);
  return how;
}
