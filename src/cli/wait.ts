// `lab vm create|start|restart --wait[=TIMEOUT]`: after the command, wait until the guest is ready
// by the same rule `lab up` uses (src/lab/run/ready.ts). The waiting itself (cli/wait-ready.ts) is
// loaded only when --wait is given.
import { UsageError } from "../errors.js";

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

/** Runs a create/start/restart, then waits when --wait was given. */
export async function withWait(
  vm: string,
  opts: WaitOpts,
  run: () => Promise<void>,
  reboots = false,
): Promise<void> {
  const wait = parseWait(opts.wait);
  if (!wait) return run();
  const { labApi } = await import("../client/api.js");
  const { beforeBoot, waitReady } = await import("./wait-ready.js");
  const api = labApi();
  const before = await beforeBoot(api, vm, reboots);
  await run();
  await waitReady(api, vm, before, wait);
}
