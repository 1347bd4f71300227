// A client for fleet's v1 HTTP API (/fleet/v1): machines, units and unit states, following
// nextPageToken pages and turning fleet's {"error":{"code","message"}} bodies into FleetApiError.
import { ConflictError, FleetApiError } from "../errors.js";
import {
  backoffMs,
  DEFAULT_RETRY,
  mayRetry,
  pause,
  type RetryNotice,
  type RetryPolicy,
  retryableConnectionError,
  retryableStatus,
} from "./retry.js";
import { sameUnitOptions, type UnitOption } from "./unit-file.js";
import { type TargetState, validateTargetState, validateUnitName } from "./xfleet.js";

export interface FleetMachine {
  id: string;
  primaryIP: string;
  metadata?: Record<string, string>;
}

export interface FleetUnit {
  name: string;
  options: UnitOption[];
  desiredState: TargetState;
  currentState?: TargetState;
  machineID?: string;
}

export interface FleetUnitState {
  name: string;
  hash: string;
  machineID: string;
  systemdLoadState: string;
  systemdActiveState: string;
  systemdSubState: string;
}

export const DEFAULT_FLEET_PORT = 49153;

export interface FleetClientOptions {
  /** Per request. */
  timeoutMs?: number;
  /** How long idempotent requests are retried on 5xx and dropped connections (DEFAULT_RETRY). */
  retry?: RetryPolicy;
  /** Told before each retry (e.g. ttyRetryNotice, or a note on `lab up`'s step). */
  onRetry?: (n: RetryNotice) => void;
  /** Stops retrying (Ctrl-C in `lab up`). */
  signal?: AbortSignal;
  /** No retry pause may end after this time (ms since the epoch): a command's --timeout holds as a whole. */
  deadline?: number;
}

interface Answer {
  status: number;
  json: unknown;
}

/** One attempt's outcome: an answer, or a failure that another attempt may cure. */
type Attempt = { ok: Answer } | { retry: string; error: FleetApiError };

export class FleetClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  constructor(
    readonly endpoint: string,
    private readonly opts: FleetClientOptions = {},
  ) {
    this.base = `${endpoint.replace(/\/+$/, "")}/fleet/v1`;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.policy = opts.retry ?? DEFAULT_RETRY;
  }

  private async attempt(method: string, path: string, body: unknown): Promise<Attempt> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      // Retried as well (only idempotent requests ever are): a starved etcd machine answers late.
      if ((err as Error).name === "TimeoutError") {
        const secs = this.timeoutMs / 1000;
        const error = new FleetApiError(`fleet ${method} ${path}: no answer within ${secs} s`, {
          hint: "fleet on the etcd machine is overloaded or stuck; see 'lab vm logs NAME'",
          cause: err,
        });
        return { retry: `did not answer within ${secs} s`, error };
      }
      const error = new FleetApiError(
        `fleet at ${this.endpoint} is unreachable (${(err as Error).cause ?? (err as Error).message})`,
        {
          hint: "is the etcd machine running ('lab vm list')? pass --endpoint or set FLEETCTL_ENDPOINT",
          cause: err,
        },
      );
      const why = retryableConnectionError(err);
      if (why) return { retry: why, error };
      throw error;
    }
    const text = await res.text();
    const json = text ? safeJson(text) : undefined;
    if (res.status < 400) return { ok: { status: res.status, json } };
    const e = (json as { error?: { code?: number; message?: string } } | undefined)?.error;
    // fleet's registry failures come as {"error":{"code":500,"message":""}}: show the body then.
    const shown = text.trim().slice(0, 300);
    const said = e?.message || (shown ? `no message; body ${shown}` : "an empty body");
    const error = new FleetApiError(`fleet ${method} ${path}: ${said} (HTTP ${res.status})`, {
      details: { status: res.status, code: e?.code, body: text },
    });
    if (retryableStatus(res.status)) return { retry: `answered ${res.status}`, error };
    throw error;
  }

  /**
   * Sends a request; when `idempotent`, again on 5xx and dropped connections until the policy's
   * bound. `beforeRetry` may look at fleet first and change the body of the next attempt.
   */
  private async request(
    method: string,
    path: string,
    body?: unknown,
    how: { idempotent: boolean; beforeRetry?: () => Promise<unknown> } = { idempotent: true },
  ): Promise<Answer> {
    const started = Date.now();
    let next = body;
    for (let failures = 1; ; failures++) {
      const r = await this.attempt(method, path, next);
      if ("ok" in r) return r.ok;
      const delayMs = backoffMs(this.policy, failures);
      const late = this.opts.deadline !== undefined && Date.now() + delayMs > this.opts.deadline;
      if (!how.idempotent || late || this.opts.signal?.aborted || !mayRetry(this.policy, started, delayMs))
        throw gaveUp(r.error, failures, started);
      this.opts.onRetry?.({ method, path, failures, why: r.retry, delayMs });
      await pause(delayMs, this.opts.signal);
      if (how.beforeRetry) next = await how.beforeRetry();
    }
  }

  private async paged<T>(path: string, key: string): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const r = await this.request(
        "GET",
        token ? `${path}${sep}nextPageToken=${encodeURIComponent(token)}` : path,
      );
      const page = (r.json ?? {}) as Record<string, unknown>;
      out.push(...((page[key] as T[] | undefined) ?? []));
      token = page.nextPageToken as string | undefined;
    } while (token);
    return out;
  }

  machines(): Promise<FleetMachine[]> {
    return this.paged<FleetMachine>("/machines", "machines");
  }

  units(): Promise<FleetUnit[]> {
    return this.paged<FleetUnit>("/units", "units");
  }

  async unit(name: string): Promise<FleetUnit | undefined> {
    validateUnitName(name);
    try {
      return (await this.request("GET", `/units/${encodeURIComponent(name)}`)).json as FleetUnit;
    } catch (err) {
      if (err instanceof FleetApiError && err.details?.status === 404) return undefined;
      throw err;
    }
  }

  state(unitName?: string): Promise<FleetUnitState[]> {
    return this.paged<FleetUnitState>(
      unitName ? `/state?unitName=${encodeURIComponent(unitName)}` : "/state",
      "states",
    );
  }

  /**
   * Creates a unit (options given) or changes its desired state (options omitted). fleet's PUT
   * creates a unit that does not exist and only sets the desired state of one that does (options
   * ignored; coreos/fleet api/units.go): a retried create first looks whether the earlier attempt
   * took effect, and refuses a unit that appeared meanwhile with other options.
   */
  async putUnit(name: string, desiredState: string, options?: UnitOption[]): Promise<void> {
    validateUnitName(name);
    const state = validateTargetState(desiredState);
    const beforeRetry = async () => {
      const now = await this.unit(name);
      if (!now) return { desiredState: state, options };
      if (sameUnitOptions(now.options, options!)) return { desiredState: state };
      throw new ConflictError(`unit ${name} appeared in fleet with other contents while lab was retrying`, {
        hint: `see 'lab fleet cat ${name}'; 'lab fleet destroy ${name}' removes it`,
      });
    };
    await this.request(
      "PUT",
      `/units/${encodeURIComponent(name)}`,
      options ? { desiredState: state, options } : { desiredState: state },
      { idempotent: true, beforeRetry: options ? beforeRetry : undefined },
    );
  }

  /** Removes a unit; absent is fine. */
  async deleteUnit(name: string): Promise<boolean> {
    validateUnitName(name);
    try {
      await this.request("DELETE", `/units/${encodeURIComponent(name)}`);
      return true;
    } catch (err) {
      if (err instanceof FleetApiError && err.details?.status === 404) return false;
      throw err;
    }
  }
}

/** The last attempt's error, saying how long fleet was given, with a hint on what 5xx means here. */
function gaveUp(last: FleetApiError, failures: number, started: number): FleetApiError {
  const status = last.details?.status;
  if (failures === 1 && typeof status !== "number") return last;
  const over = `${failures} attempts over ${Math.round((Date.now() - started) / 1000)} s`;
  return new FleetApiError(failures === 1 ? last.message : `${last.message}; gave up after ${over}`, {
    hint:
      typeof status === "number"
        ? "fleet answers 5xx while its engine or etcd is still settling after the cluster formed; if it persists, see fleet's log on the etcd machine ('lab vm ssh etcd -- journalctl -u fleet')"
        : last.hint,
    details: { ...last.details, attempts: failures },
    cause: last,
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
