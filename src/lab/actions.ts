import type { LabClient } from "../client/client.js";
import { uploadArtifact, uploadImage } from "../client/imports.js";
import { HOSTKEYS_UNIT, imageRunsUnits, roleUnitNames } from "../cloudconfig/mirror-install.js";
import { defaultTemplatesDir } from "../cloudconfig/render.js";
import type { ImageStatus } from "../image/status.js";
import type { StepActions } from "./executor.js";
import { type FleetGate, httpFleetGate, retry, waitForMachines, writeFlannelConfig } from "./fleet-steps.js";
import {
  HOSTKEYS_MARKER,
  READY_GUEST,
  READY_MARKER,
  readyCount,
  serialLogOf,
  waitForReadyLine,
} from "./ready.js";
import type { Step } from "./steps.js";

export interface ActionOptions {
  client: LabClient;
  /** How long a guest may take to print its ready line. */
  readyTimeoutMs?: number;
  /** How long etcd and fleet may take to answer once the machines run. */
  fleetTimeoutMs?: number;
  fleetGate?: (etcdIp: string) => FleetGate;
}

const MiB = 1024 * 1024;

function progress(note: (m: string) => void) {
  return (e: Record<string, unknown>) => {
    if (e.message === "downloading" && typeof e.bytes === "number") {
      const total = typeof e.total === "number" ? ` of ${Math.round(e.total / MiB)} MiB` : "";
      note(`downloading ${Math.round(e.bytes / MiB)} MiB${total}`);
    } else if (typeof e.message === "string") note(e.message);
  };
}

/** The line that ends this guest's boot for lab: LAB-READY, the host key report, or none. */
async function readyMarker(guest: string | undefined, role: string): Promise<string | undefined> {
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
        await o.client.call("POST", "/v1/vms", step.body, { onProgress: progress(note) });
      else await o.client.call("POST", `/v1/vms/${encodeURIComponent(name)}/start`, {});
      return `running, ${step.body.ip}`;
    },
    async ready(note, signal) {
      const img = await o.client.call<ImageStatus>(
        "GET",
        `/v1/images/${encodeURIComponent(step.body.image)}`,
      );
      const marker = await readyMarker(img.guest, step.body.role);
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
      const t = await o.client.call<{ hostKeys: number }>("GET", `/v1/vms/${encodeURIComponent(name)}/ssh`);
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
          ? await o.client.call<{ manifest: { version?: string } }>(
              "POST",
              `/v1/images/${encodeURIComponent(step.name)}/pull`,
              {},
              { onProgress: progress(note) },
            )
          : await uploadImage<{ manifest: { version?: string } }>(o.client, src.path, step.name, {
              onProgress: progress(note),
            });
      return `version ${r.manifest.version ?? "?"}`;
    },
  };
}

function fleetActions(step: Step, o: ActionOptions): StepActions {
  const gate = (ip: string) => (o.fleetGate ?? httpFleetGate)(ip);
  const timeoutMs = o.fleetTimeoutMs ?? 300_000;
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
        await waitForMachines(gate(step.etcdIp), step.machines, { timeoutMs, signal, note });
        return `${step.machines.length} machine(s) registered`;
      }
      if (step.kind === "unit") {
        await gate(step.etcdIp).launch(step.name, step.options);
        return "launched";
      }
      throw new Error(`not a fleet step: ${step.id}`);
    },
  };
}

export function actionsFor(step: Step, o: ActionOptions): StepActions {
  switch (step.kind) {
    case "network":
      return {
        exclusive: true,
        async apply(note) {
          await o.client.call("POST", "/v1/networks", step.body, { onProgress: progress(note) });
          return step.action === "repair" ? "repaired" : `up, ${step.body.subnet}`;
        },
      };
    case "image":
      return imageActions(step, o);
    case "vm":
      return vmActions(step, o);
    case "artifact":
      // Not through the daemon's lock: labd downloads artifacts beside other operations.
      return {
        exclusive: false,
        async apply(note) {
          const { name, path: file, sha256 } = step.body;
          if (file !== undefined)
            await uploadArtifact(o.client, { name, file, sha256 }, { onProgress: progress(note) });
          else await o.client.call("POST", "/v1/mirror/artifacts", step.body, { onProgress: progress(note) });
          return "in the mirror";
        },
      };
    default:
      return fleetActions(step, o);
  }
}
