// Everything `lab up` does before it changes anything: read the file, observe the daemon, the
// host's routes and the local files the lab file names, check the cluster plan, plan the steps.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import type { LabClient } from "../client/client.js";
import { imageNeedsFleetd, roleUsesFleet } from "../cloudconfig/fleet-install.js";
import { defaultTemplatesDir, listRoles } from "../cloudconfig/render.js";
import { LabError } from "../errors.js";
import type { HostAddress, HostRoute } from "../host/ip.js";
import type { CatalogStatus, ImageStatus } from "../image/status.js";
import { FLEETD_ARTIFACT } from "../mirror/fleetd.js";
import type { ArtifactStatus } from "../mirror/store.js";
import type { NetStatus } from "../net/network.js";
import type { VmStatus } from "../vm/status.js";
import { type CheckEnv, checkLab } from "./checks.js";
import { type DesiredLab, desiredLab } from "./desired.js";
import { httpFleetGate, OBSERVE, observeFleet } from "./fleet-steps.js";
import { addressingFor, planIps } from "./ips.js";
import { type FieldProblem, type LoadedLab, loadLabFile, problemsError } from "./load.js";
import { type Observed, type PlanExtras, planLab } from "./planner.js";
import type { Step } from "./steps.js";
import { type LocalUnit, mirrorArtifactsOf, readUnitsDir, selectUnits } from "./units.js";

export interface Prepared {
  loaded: LoadedLab;
  desired: DesiredLab;
  observed: Observed;
  extras: PlanExtras;
  steps: Step[];
}

export interface DaemonView extends Observed {
  catalog: CatalogStatus[];
  routes: HostRoute[];
  addresses: HostAddress[];
}

export async function observeDaemon(client: LabClient): Promise<DaemonView> {
  const [networks, images, vms, catalog, host, mirror] = await Promise.all([
    client.call<NetStatus[]>("GET", "/v1/networks"),
    client.call<ImageStatus[]>("GET", "/v1/images"),
    client.call<VmStatus[]>("GET", "/v1/vms"),
    client.call<CatalogStatus[]>("GET", "/v1/image-catalog"),
    client
      .call<{ routes: HostRoute[]; addresses: HostAddress[] }>("GET", "/v1/host/routes")
      .catch((err: unknown) => {
        if (err instanceof LabError && /no such API path/.test(err.message))
          throw new LabError("the running labd is older than this lab (it has no /v1/host/routes)", {
            hint: "restart it: 'lab daemon stop' (VMs and networks keep running), then run this again",
          });
        throw err;
      }),
    client.call<{ artifacts: ArtifactStatus[] }>("GET", "/v1/mirror").then(
      (m) => m.artifacts,
      () => undefined,
    ),
  ]);
  return { networks, images, vms, catalog, mirror, ...host };
}

/** Reads the ssh keys the file names; unreadable or malformed ones become problems. */
async function readSshKeys(lab: DesiredLab, problems: FieldProblem[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of lab.machines) {
    if (seen.has(m.field)) continue;
    seen.add(m.field);
    for (const [i, file] of m.sshKeyFiles.entries()) {
      const field = `${m.field}.sshKeys[${i}]`;
      try {
        const text = (await readFile(file, "utf8")).trim();
        if (!/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(text))
          problems.push({ path: field, message: `${file} is not an OpenSSH public key (pass a *.pub file)` });
        keys.set(file, text);
      } catch (err) {
        problems.push({
          path: field,
          message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`,
        });
      }
    }
  }
  return keys;
}

function missingFiles(lab: DesiredLab): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const img of lab.images)
    if (img.source.kind === "import" && !existsSync(img.source.path))
      out.push({ path: `${img.field}.import`, message: `${img.source.path} does not exist` });
  for (const a of lab.artifacts)
    if (a.path !== undefined && !existsSync(a.path))
      out.push({ path: `${a.field}.path`, message: `${a.path} does not exist` });
  if (lab.unitGlobs.length > 0 && !lab.machines.some((m) => m.role === "etcd"))
    out.push({ path: "fleet.units", message: "fleet units need an etcd machine (role etcd)" });
  return out;
}

/** A role that runs fleet on an image without it needs fleetd in the mirror (src/mirror/fleetd.ts). */
async function missingFleetd(lab: DesiredLab, daemon: DaemonView, roles: string[]): Promise<FieldProblem[]> {
  if (lab.artifacts.some((a) => a.name === FLEETD_ARTIFACT)) return [];
  if (daemon.mirror?.some((a) => a.name === FLEETD_ARTIFACT && !a.problem)) return [];
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const m of lab.machines) {
    if (seen.has(m.field) || !roles.includes(m.role)) continue;
    seen.add(m.field);
    const decl = lab.images.find((i) => i.name === m.image);
    const info =
      decl?.source.kind === "pull"
        ? daemon.catalog.find((c) => c.name === decl.name)
        : daemon.images.find((i) => i.name === m.image && !i.problems);
    if (!info || !imageNeedsFleetd(info) || !(await roleUsesFleet(defaultTemplatesDir(), m.role))) continue;
    out.push({
      path: `${m.field}.image`,
      message: `image ${m.image} has no fleet and role ${m.role} runs it: declare a ${FLEETD_ARTIFACT} artifact (or 'lab mirror add ${FLEETD_ARTIFACT} URL --sha256 HEX')`,
    });
  }
  return out;
}

/** Units that fetch programs from the mirror when they start need those artifacts there (or declared). */
function missingUnitArtifacts(lab: DesiredLab, daemon: DaemonView, unitFiles: LocalUnit[]): FieldProblem[] {
  const have = new Set([
    ...lab.artifacts.map((a) => a.name),
    ...(daemon.mirror ?? []).filter((a) => !a.problem).map((a) => a.name),
  ]);
  const out: FieldProblem[] = [];
  for (const unit of selectUnits(lab.unitGlobs, unitFiles)) {
    const missing = mirrorArtifactsOf(unit).filter((n) => !have.has(n));
    if (missing.length === 0) continue;
    out.push({
      path: "fleet.units",
      message: `${unit.name} fetches ${missing.join(", ")} from the lab mirror, which does not have ${missing.length > 1 ? "them" : "it"}: run 'lab mirror add --for kubernetes' (or declare them under artifacts)`,
    });
  }
  return out;
}

function planAllIps(lab: DesiredLab, networks: NetStatus[]): Map<string, string> {
  const ips = new Map<string, string>();
  for (const net of lab.networks) {
    const existing = networks.find((n) => n.network.name === net.name);
    const addr = addressingFor(net, existing?.network);
    const plan = planIps(
      lab.machines.filter((m) => m.network === net.name),
      addr,
      existing?.reservations ?? [],
    );
    for (const [name, ip] of plan.ips) ips.set(name, ip);
  }
  return ips;
}

/** Loads, checks and plans `lab up`; throws one error listing every problem, before any change. */
export async function prepareUp(client: LabClient, file: string): Promise<Prepared> {
  const loaded = await loadLabFile(file);
  const desired = desiredLab(loaded.lab, loaded.file, os.homedir());
  const [daemon, roles, unitFiles] = await Promise.all([
    observeDaemon(client),
    listRoles(defaultTemplatesDir()),
    desired.unitGlobs.length > 0 ? readUnitsDir(desired.unitsDir) : Promise.resolve([]),
  ]);
  const fileProblems: FieldProblem[] = [];
  const sshKeys = await readSshKeys(desired, fileProblems);
  fileProblems.push(
    ...missingFiles(desired),
    ...(await missingFleetd(desired, daemon, roles)),
    ...missingUnitArtifacts(desired, daemon, unitFiles),
  );
  const env: CheckEnv = {
    host: { routes: daemon.routes, addresses: daemon.addresses },
    labNetworks: daemon.networks.map((n) => n.network),
    reservations: new Map(daemon.networks.map((n) => [n.network.name, n.reservations])),
    roles,
    catalog: daemon.catalog.map((c) => c.name),
    unitFiles,
    fileProblems,
  };
  const problems = checkLab(desired, env);
  if (problems.length > 0) throw problemsError(file, problems, "fix the lab file; nothing was created");
  const extras: PlanExtras = {
    ips: planAllIps(desired, daemon.networks),
    sshKeys,
    units: selectUnits(desired.unitGlobs, unitFiles),
  };
  const observed: Observed = { ...daemon, fleet: await fleetState(desired, daemon.vms, extras.ips) };
  return { loaded, desired, observed, extras, steps: planLab(desired, observed, extras) };
}

/** fleet's view, when the lab declares units and its etcd machine is running and answers. */
export async function fleetState(lab: DesiredLab, vms: VmStatus[], ips: Map<string, string>) {
  const etcd = lab.machines.find((m) => m.role === "etcd");
  if (lab.unitGlobs.length === 0 || !etcd) return undefined;
  const vm = vms.find((v) => v.name === etcd.name && v.state === "running");
  const ip = vm?.ip ?? ips.get(etcd.name);
  return vm && ip ? observeFleet(httpFleetGate(ip, OBSERVE), ip) : undefined;
}
