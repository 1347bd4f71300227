// A client for fleet's v1 HTTP API (/fleet/v1): machines, units and unit states, following
// nextPageToken pages and turning fleet's {"error":{"code","message"}} bodies into FleetApiError.
import { FleetApiError } from "../errors.js";
import type { UnitOption } from "./unit-file.js";
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

export class FleetClient {
  readonly base: string;
  constructor(
    readonly endpoint: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.base = `${endpoint.replace(/\/+$/, "")}/fleet/v1`;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new FleetApiError(
        `fleet at ${this.endpoint} is unreachable (${(err as Error).cause ?? (err as Error).message})`,
        {
          hint: "is the etcd machine running ('lab vm list')? pass --endpoint or set FLEETCTL_ENDPOINT",
          cause: err,
        },
      );
    }
    const text = await res.text();
    const json = text ? safeJson(text) : undefined;
    if (res.status >= 400) {
      const e = (json as { error?: { code?: number; message?: string } } | undefined)?.error;
      throw new FleetApiError(
        `fleet ${method} ${path}: ${e?.message ?? text.trim() ?? res.statusText} (HTTP ${res.status})`,
        {
          details: { status: res.status, code: e?.code },
        },
      );
    }
    return { status: res.status, json };
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

  /** Creates a unit (options given) or changes its desired state (options omitted). */
  async putUnit(name: string, desiredState: string, options?: UnitOption[]): Promise<void> {
    validateUnitName(name);
    const state = validateTargetState(desiredState);
    await this.request(
      "PUT",
      `/units/${encodeURIComponent(name)}`,
      options ? { desiredState: state, options } : { desiredState: state },
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
