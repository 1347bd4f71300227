import type { ArtifactAddRequest } from "../../api/mirror.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { HOSTKEYS_UNIT, imageRunsUnits, roleUnitNames } from "../../cloudconfig/mirror-install.js";
import { defaultTemplatesDir } from "../../cloudconfig/render.js";
import { FleetApiError } from "../../errors.js";
import { writeFlannelConfig } from "../../fleet/flannel-key.js";
import { DEFAULT_RETRY } from "../../fleet/retry.js";
import type { Step } from "../plan/steps.js";
import type { StepActions } from "./executor.js";
import { type FleetGate, type GateOptions, httpFleetGate, retry, waitForMachines } from "./fleet-steps.js";
import {
  HOSTKEYS_MARKER,
  READY_GUEST,
  READY_MARKER,
  readyCount,
  serialLogOf,
  waitForReadyLine,
} from "./ready.js";
import { readUnitJournal, withJournal } from "./unit-journal.js";

export interface ActionOptions {
  client: LabClient;
  /** How long a guest may take to print its ready line. */
  readyTimeoutMs?: number;
  /** How long etcd and fleet may take to answer once the machines run. */
  fleetTimeoutMs?: number;
  fleetGate?: (etcdIp: string, opts?: GateOptions) => FleetGate;
  /** Reads a failed unit's journal (over ssh unless a test gives another). */
  unitJournal?: typeof readUnitJournal;
}

const MiB = 1024 * 1024;
const FLEET_TIMEOUT_MS = 300_000;
/**
 * How long a launched unit may take to run. Units may wait for each other in ExecStartPre (the
 * Kubernetes units allow TimeoutStartSec=900): lab up waits as long as systemd would.
 */
const UNIT_TIMEOUT_MS = 900_000;

function progress(note: (m: string) => void) {
  return (e: Record<string, unknown>) => {
    if (e.message === "downloading" && typeof e.bytes === "number") {
      const total = typeof e.total === "number" ? ` of ${Math.round(e.total / MiB)} MiB` : "";
      note(`downloading ${Math.round(e.bytes / MiB)} MiB${total}`);
    } else if (typeof e.message === "string") note(e.message);
  };
}

/** The line that ends this guest's boot for lab: LAB-READY, the host key report, or none. */
export async function readyMarker(guest: string | undefined, role: string): Promise<string | undefined> {
  if (guest === READY_GUEST) return READY_MARKER;
  if (!imageRunsUnits({ guest })) return undefined;
  return (await roleUnitNames(defaultTemplatesDir(), role)).includes(HOSTKEYS_UNIT)
    ? HOSTKEYS_MARKER
    : undefined;
}

function vmActions(step: Extract<Step, { kind: "vm" }>, o: ActionOptions): StepActions {
  const name = step.name;
  const before = new Map<string, number>();
  return {
    exclusive: true,
    async apply(note) {
      // A restarted guest appends to its log: count the marker lines it already printed.
      for (const marker of [READY_MARKER, HOSTKEYS_MARKER])
        before.set(
          marker,
          step.action === "start" ? ((await readyCount(serialLogOf(name), marker)) ?? 0) : 0,
        );
      if (step.action === "create")
        await labApi(o.client).vms.create(step.body, { onProgress: progress(note) });
      else await labApi(o.client).vms.start(name);
      return `running, ${step.body.ip}`;
    },
    async ready(note, signal) {
      const img = await labApi(o.client).images.get(step.body.image);
      const marker = await readyMarker(img.guest ?? undefined, step.body.role);
      if (marker === undefined) return `running, ${step.body.ip}`;
      const hostKeys = marker === HOSTKEYS_MARKER;
      note(`running, ${step.body.ip}; waiting for ${hostKeys ? "its ssh host keys" : "LAB-READY"}`);
      const how = await waitForReadyLine({
        client: o.client,
        vm: name,
        before: before.get(marker) ?? 0,
        marker,
        timeoutMs: o.readyTimeoutMs ?? (hostKeys ? 600_000 : 180_000),
        signal,
      });
      if (how !== "ready") return `running, ${step.body.ip} (serial log not readable)`;
      if (!hostKeys) return `ready, ${step.body.ip}`;
      // labd writes known_hosts from the console while answering: 'lab vm ssh' needs no --accept-new.
      const t = await labApi(o.client).vms.ssh(name);
      return `ready, ${step.body.ip} (${t.hostKeys} ssh host keys in known_hosts)`;
    },
  };
}

function imageActions(step: Extract<Step, { kind: "image" }>, o: ActionOptions): StepActions {
  return {
    exclusive: true,
    async apply(note) {
      const src = step.source;
      const r =
        src.kind === "pull"
          ? await labApi(o.client).images.pull(step.name, {}, { onProgress: progress(note) })
          : await labApi(o.client).images.import(src.path, step.name, { onProgress: progress(note) });
      return `version ${r.manifest.version ?? "?"}`;
    },
  };
}

/**
 * fleet through the gate; its retries show on the step's line ("fleet answered 503, retrying…").
 * A fleet whose etcd answers slowly (fleetd gives each etcd request 1 s) keeps answering 5xx for
 * minutes on loaded TCG guests: it may take as long as a step may wait.
 */
function gateFor(
  o: ActionOptions,
  ip: string,
  note: (m: string) => void,
  signal: AbortSignal,
  boundMs = o.fleetTimeoutMs ?? FLEET_TIMEOUT_MS,
): FleetGate {
  return (o.fleetGate ?? httpFleetGate)(ip, {
    signal,
    retry: { ...DEFAULT_RETRY, forMs: boundMs },
    deadline: Date.now() + boundMs,
    onRetry: (n) => note(`fleet ${n.why}, retrying…`),
  });
}

function fleetActions(step: Step, o: ActionOptions): StepActions {
  const timeoutMs = o.fleetTimeoutMs ?? FLEET_TIMEOUT_MS;
  return {
    exclusive: false,
    async apply(note, signal) {
      if (step.kind === "flannel") {
        note(`waiting for etcd on ${step.etcdIp}`);
        await retry(() => writeFlannelConfig(step.etcdIp, step.config, signal), {
          timeoutMs,
          intervalMs: 1000,
          signal,
        });
        return `set in etcd on ${step.etcdIp}`;
      }
      if (step.kind === "fleet") {
        const gate = gateFor(o, step.etcdIp, note, signal);
        await waitForMachines(gate, step.machines, { timeoutMs, signal, note });
        return `${step.machines.length} machine(s) registered`;
      }
      throw new Error(`not a fleet step: ${step.id}`);
    },
  };
}

/**
 * A unit is launched in fleet, then waited for as `lab fleet start` waits: done once systemd
 * runs it on every machine it belongs on. A unit that fails is reported with its journal's tail.
 */
function unitActions(step: Extract<Step, { kind: "unit" }>, o: ActionOptions): StepActions {
  const timeoutMs = o.fleetTimeoutMs ?? UNIT_TIMEOUT_MS;
  return {
    exclusive: false,
    async apply(note, signal) {
      await gateFor(o, step.etcdIp, note, signal).launch(step.name, step.options);
      return "launched in fleet; waiting until it runs";
    },
    async ready(note, signal) {
      const gate = gateFor(o, step.etcdIp, note, signal, timeoutMs);
      try {
        return await gate.waitActive(step.name, { timeoutMs, signal, note, intervalMs: 2000 });
      } catch (err) {
        const machineID = err instanceof FleetApiError ? err.details?.machineID : undefined;
        if (!(err instanceof FleetApiError) || typeof machineID !== "string") throw err;
        note("failed; reading its journal");
        const journal = await (o.unitJournal ?? readUnitJournal)(
          { client: o.client, gate },
          step.name,
          machineID,
        );
        throw withJournal(err, step.name, journal);
      }
    },
  };
}

export function actionsFor(step: Step, o: ActionOptions): StepActions {
  switch (step.kind) {
    case "network":
      return {
        exclusive: true,
        async apply(note) {
          await labApi(o.client).networks.up(step.body, { onProgress: progress(note) });
          return step.action === "repair" ? "repaired" : `up, ${step.body.subnet}`;
        },
      };
    case "image":
      return imageActions(step, o);
    case "vm":
      return vmActions(step, o);
    case "unit":
      return unitActions(step, o);
    case "artifact":
      // Not through the daemon's lock: labd downloads artifacts beside other operations.
      return {
        exclusive: false,
        async apply(note) {
          const { name, path: file, sha256 } = step.body;
          const api = labApi(o.client).mirror;
          if (file !== undefined) await api.import({ name, file, sha256 }, { onProgress: progress(note) });
          else await api.add(step.body as ArtifactAddRequest, { onProgress: progress(note) });
          return "in the mirror";
        },
      };
    default:
      return fleetActions(step, o);
  }
}
