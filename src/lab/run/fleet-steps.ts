// What `lab up`, `down` and `status` need from etcd and fleet on the lab's etcd machine. fleet is
// reached through a small interface (FleetGate), implemented with src/fleet's API client; etcd
// only for flannel's one key (src/fleet/flannel-key.ts). Only the lab's own VM addresses are ever contacted.
import { EtcdV2MissingError, FleetApiError } from "../../errors.js";
import { DEFAULT_FLEET_PORT, FleetClient, type FleetMachine, type FleetUnit } from "../../fleet/api.js";
import { assertEtcdV2 } from "../../fleet/etcd-v2.js";
import { readFlannelConfig } from "../../fleet/flannel-key.js";
import { setTargetState } from "../../fleet/ops.js";
import type { RetryNotice, RetryPolicy } from "../../fleet/retry.js";
import type { UnitOption } from "../../fleet/unit-file.js";
import { waitFor } from "../../fleet/wait.js";
import type { FleetObserved } from "../plan/observed.js";

export const FLEET_PORT = DEFAULT_FLEET_PORT;

export type { FleetMachine, FleetObserved, FleetUnit };

/** What `lab up`, `down` and `status` need from fleet. */
export interface FleetGate {
  machines(): Promise<FleetMachine[]>;
  units(): Promise<FleetUnit[]>;
  /** Submits the unit (when fleet does not have it) and sets its desired state to launched. */
  launch(name: string, options: UnitOption[]): Promise<void>;
  /**
   * Waits as `lab fleet start` does until fleet's agents run the unit where it belongs; a unit
   * that fails throws with details.unit and details.machineID. Returns where it runs, in words.
   */
  waitActive(name: string, opts: UnitWait): Promise<string>;
  destroy(name: string): Promise<void>;
  /** Throws EtcdV2MissingError when the cluster's etcd answers without the v2 API fleet needs. */
  checkEtcd?(signal?: AbortSignal): Promise<void>;
}

export interface UnitWait {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Where the unit stands while it is not active yet. */
  note?: (message: string) => void;
  /** Between checks (1 s unless given). */
  intervalMs?: number;
}

const OBSERVE_MS = 4000;

export interface GateOptions {
  timeoutMs?: number;
  /** Retries of idempotent requests on fleet's 5xx and dropped connections (DEFAULT_RETRY). */
  retry?: RetryPolicy;
  onRetry?: (n: RetryNotice) => void;
  signal?: AbortSignal;
  /** No retry pause ends after this (ms since the epoch). */
  deadline?: number;
}

/**
 * For a look before planning and for status: a few seconds at most, silence means "unknown". A
 * plan made on "unknown" redoes fleet steps that were done (harmless, but lab up then reports
 * changes): a loaded etcd machine gets a little time and a retry or two.
 */
export const OBSERVE: GateOptions = {
  timeoutMs: OBSERVE_MS,
  retry: { forMs: OBSERVE_MS, firstDelayMs: 250, maxDelayMs: 1000 },
};

/** The gate through src/fleet's API client, on the etcd machine's fleet API (TCP 49153). */
export function httpFleetGate(ip: string, opts: GateOptions = {}): FleetGate {
  const client = new FleetClient(`http://${ip}:${FLEET_PORT}`, opts);
  return {
    machines: () => client.machines(),
    units: () => client.units(),
    launch: (name, options) =>
      setTargetState(client, [{ name, file: name, options }], "launched", false, {
        block: false,
        blockAttempts: 0,
        timeoutMs: 0,
      }),
    async waitActive(name, w) {
      let on: string[] = [];
      await waitFor(client, [name], "launched", {
        block: true,
        blockAttempts: 0,
        timeoutMs: w.timeoutMs,
        signal: w.signal,
        intervalMs: w.intervalMs,
        onPending: (_n, status) => w.note?.(status),
        onProgress: (_m, u) => {
          on = u.on;
        },
      });
      return `active on ${on.sort().join(", ")}`;
    },
    destroy: async (name) => void (await client.deleteUnit(name)),
    checkEtcd: (signal) => assertEtcdV2(ip, 3000, signal),
  };
}

/**
 * Repeats `attempt` until it succeeds, the deadline passes (last error thrown) or `signal` aborts.
 * An etcd without the v2 API is never retried: waiting cannot fix it.
 */
export async function retry<T>(
  attempt: () => Promise<T>,
  opts: { timeoutMs: number; intervalMs: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof EtcdV2MissingError) throw err;
      if (opts.signal?.aborted || Date.now() + opts.intervalMs > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

/** What fleet and etcd hold now, or undefined when they do not answer (quickly). */
export async function observeFleet(gate: FleetGate, etcdIp: string): Promise<FleetObserved | undefined> {
  try {
    const [machines, units, flannel] = await Promise.all([
      gate.machines(),
      gate.units(),
      readFlannelConfig(etcdIp, AbortSignal.timeout(OBSERVE_MS)),
    ]);
    return { machines, units, flannel };
  } catch {
    return undefined;
  }
}

/** Waits until fleet lists every expected machine (by address) with its role= metadata. */
export async function waitForMachines(
  gate: FleetGate,
  expected: { name: string; ip: string; role: string }[],
  opts: { timeoutMs: number; signal?: AbortSignal; note?: (message: string) => void },
): Promise<void> {
  let missing = expected;
  await retry(
    async () => {
      await gate.checkEtcd?.(opts.signal);
      const machines = await gate.machines();
      missing = expected.filter(
        (e) => !machines.some((m) => m.primaryIP === e.ip && m.metadata?.role === e.role),
      );
      opts.note?.(`${expected.length - missing.length}/${expected.length} machines registered`);
      if (missing.length > 0) throw new FleetApiError("not yet");
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 2000, signal: opts.signal },
  ).catch((err) => {
    if (opts.signal?.aborted || missing.length === 0) throw err;
    throw new FleetApiError(
      `fleet did not list ${missing.map((m) => `${m.name} (${m.ip}, role=${m.role})`).join(", ")} within ${Math.round(opts.timeoutMs / 1000)} s`,
      { hint: "check the machine's console ('lab vm logs NAME'): lab-fleet.service must be running" },
    );
  });
}
