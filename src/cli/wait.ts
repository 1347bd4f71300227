// `lab vm create|start|restart --wait[=TIMEOUT]`: after the command, wait until the guest is ready
// by the same rule `lab up` uses (src/lab/run/ready.ts): one more marker line on its serial console
// than before this boot (LAB-READY for the lab-test guest, the ssh host key report for guests that
// run units). Images whose guest reports nothing are ready once running.
import type { LabClient } from "../client/client.js";
import { UsageError } from "../errors.js";
import type { ImageStatus } from "../image/status.js";
import { readyMarker } from "../lab/run/actions.js";
import {
  HOSTKEYS_MARKER,
  READY_MARKER,
  readyCount,
  serialLogOf,
  waitForReadyLine,
} from "../lab/run/ready.js";
import type { VmStatus } from "../vm/status.js";

/** `lab up`'s bounds: a busybox guest under TCG, or a systemd guest that reports host keys. */
const DEFAULT_MS = { [READY_MARKER]: 180_000, [HOSTKEYS_MARKER]: 600_000 } as Record<string, number>;

/** --wait (true), --wait=300, --wait=5m, --wait=90s; undefined when not waiting. */
export function parseWait(value: string | boolean | undefined): { timeoutMs?: number } | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const m = /^(\d+)\s*(s|m|h)?$/.exec(value.trim());
  if (!m)
    throw new UsageError(`--wait takes a duration like 300, 90s or 5m, got ${JSON.stringify(value)}`, {
      hint: "write --wait=5m (with '='), or put --wait after the VM name",
    });
  const unit = { s: 1, m: 60, h: 3600 }[m[2] ?? "s"] ?? 1;
  return { timeoutMs: Number(m[1]) * unit * 1000 };
}

export interface WaitOpts {
  wait?: string | boolean;
}

export interface Before {
  counts: Map<string, number>;
}

/**
 * Marker lines in the log before the boot this command causes. For start or create, a VM already
 * running boots no more: its latest marker line counts as this boot's (the log keeps every boot's
 * lines; one that has not printed it yet this boot is taken as ready). A restart always boots.
 */
export async function beforeBoot(client: LabClient, vm: string, reboots: boolean): Promise<Before> {
  const running =
    !reboots &&
    (await client
      .call<VmStatus>("GET", `/v1/vms/${encodeURIComponent(vm)}`)
      .then((s) => s.state === "running")
      .catch(() => false));
  const counts = new Map<string, number>();
  for (const marker of [READY_MARKER, HOSTKEYS_MARKER]) {
    const n = (await readyCount(serialLogOf(vm), marker)) ?? 0;
    counts.set(marker, running ? Math.max(0, n - 1) : n);
  }
  return { counts };
}

/** Runs a create/start/restart, then waits when --wait was given. */
export async function withWait(
  vm: string,
  opts: WaitOpts,
  run: () => Promise<void>,
  reboots = false,
): Promise<void> {
  const wait = parseWait(opts.wait);
  if (!wait) return run();
  const { LabClient } = await import("../client/client.js");
  const client = new LabClient();
  const before = await beforeBoot(client, vm, reboots);
  await run();
  await waitReady(client, vm, before, wait);
}

/** Waits until VM is ready; says on stderr what it waits for. Throws NotReadyError on timeout. */
export async function waitReady(
  client: LabClient,
  vm: string,
  before: Before,
  wait: { timeoutMs?: number },
  say: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const s = await client.call<VmStatus>("GET", `/v1/vms/${encodeURIComponent(vm)}`);
  const img = await client.call<ImageStatus>("GET", `/v1/images/${encodeURIComponent(s.image)}`);
  const marker = await readyMarker(img.guest, s.role);
  if (marker === undefined) {
    if (s.state !== "running") throw new UsageError(`VM ${vm} is ${s.state}: nothing to wait for`);
    say(`VM ${vm}: running; image ${s.image} reports no readiness, so running counts as ready`);
    return "running";
  }
  const timeoutMs = wait.timeoutMs ?? DEFAULT_MS[marker] ?? 180_000;
  const what = marker === READY_MARKER ? "LAB-READY" : "its ssh host key report";
  say(`VM ${vm}: waiting up to ${Math.round(timeoutMs / 1000)} s for ${what} on its serial console`);
  const how = await waitForReadyLine({
    client,
    vm,
    before: before.counts.get(marker) ?? 0,
    marker,
    timeoutMs,
  });
  const line = how === "ready" ? `VM ${vm}: ready, ${s.ip}` : `VM ${vm}: running (serial log not readable)`;
  say(line);
  return how;
}
