// Everything `lab up` does before it changes anything: read the file, observe the daemon, the
// host's routes and the local files the lab file names, check the cluster plan, plan the steps.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { CatalogEntry as CatalogStatus } from "../../api/images.js";
import type { Network as NetStatus } from "../../api/networks.js";
import type { Vm as VmStatus } from "../../api/vms.js";
import { labApi } from "../../client/api.js";
import type { LabClient } from "../../client/client.js";
import { imageRunsUnits, roleArtifacts } from "../../cloudconfig/mirror-install.js";
import { defaultTemplatesDir, listRoles, renderCloudConfig } from "../../cloudconfig/render.js";
import { LabError } from "../../errors.js";
import { etcdContact, etcdMembers } from "../../etcd/members.js";
import { type FieldProblem, problemsError } from "../../field-problems.js";
import type { HostAddress, HostRoute } from "../../host/ip.js";
import { MANIFEST_FILE } from "../../image/manifest.js";
import { addArtifactHint } from "../../mirror/install.js";
import { parsePublicKey } from "../../ssh/public-key.js";
import { type DesiredLab, desiredLab } from "../file/desired.js";
import { type LoadedLab, loadLabFile } from "../file/load.js";
import { addRegistries } from "../file/registries.js";
import { type LocalUnit, mirrorArtifactsOf, readUnitsDir } from "../file/units.js";
import { fleetUnits } from "../plan/api-servers.js";
import { type CheckEnv, checkLab } from "../plan/checks.js";
import { addressingFor, planIps } from "../plan/ips.js";
import type { Observed, PlanExtras } from "../plan/observed.js";
import { planLab } from "../plan/planner.js";
import type { Step } from "../plan/steps.js";
import { httpFleetGate, OBSERVE, observeFleet } from "./fleet-steps.js";

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
  const api = labApi(client);
  const [networks, images, vms, catalog, host, mirror] = await Promise.all([
    api.networks.list(),
    api.images.list(),
    api.vms.list(),
    api.images.catalog(),
    api.daemon.hostRoutes().catch((err: unknown) => {
      if (err instanceof LabError && /no such API path/.test(err.message))
        throw new LabError("the running labd is older than this lab (it has no /v1/host/routes)", {
          hint: "restart it: 'lab daemon stop' (VMs and networks keep running), then run this again",
        });
      throw err;
    }),
    api.mirror.status().then(
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
        if (parsePublicKey(text) === undefined)
          problems.push({
            path: field,
            message: `${file} is not one OpenSSH public key on one line (pass a *.pub file)`,
          });
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

/**
 * Renders each machine group's cloud-config as 'lab vm create' will (with stand-in addresses), so
 * --plan refuses what up would: unknown keys, bad host names, values coreos-cloudinit misreads.
 */
async function cloudConfigProblems(
  lab: DesiredLab,
  roles: string[],
  sshKeys: Map<string, string>,
): Promise<FieldProblem[]> {
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const m of lab.machines) {
    if (seen.has(m.field) || !roles.includes(m.role)) continue;
    seen.add(m.field);
    try {
      await renderCloudConfig(defaultTemplatesDir(), {
        name: m.name,
        role: m.role,
        ip: "192.0.2.10",
        prefix: 24,
        gateway: "192.0.2.1",
        dns: "192.0.2.1",
        domain: "lab",
        etcdEndpoint: "http://192.0.2.10:2379",
        mirrorUrl: "http://192.0.2.1:8080",
        sshKeys: m.sshKeyFiles
          .map((f) => sshKeys.get(f))
          .filter((k) => k !== undefined && parsePublicKey(k)) as string[],
        extra: m.cloudConfig,
      });
    } catch (err) {
      out.push({ path: `${m.field}.cloudConfig`, message: (err as Error).message });
    }
  }
  return out;
}

function missingFiles(lab: DesiredLab): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const img of lab.images)
    if (img.source.kind === "import" && !existsSync(img.source.path))
      out.push({ path: `${img.field}.import`, message: `${img.source.path} does not exist` });
  for (const a of lab.artifacts)
    if (a.path !== undefined && !existsSync(a.path))
      out.push({ path: `${a.field}.path`, message: `${a.path} does not exist` });
  if (lab.unitGlobs.length > 0 && etcdMembers(lab.machines).length === 0)
    out.push({ path: "fleet.units", message: "fleet units need an etcd machine (role etcd)" });
  return out;
}

/** The guest an image declared in the lab file runs, from the daemon, the catalog or its bundle. */
async function guestOf(lab: DesiredLab, daemon: DaemonView, image: string): Promise<string | undefined> {
  const decl = lab.images.find((i) => i.name === image);
  if (decl?.source.kind === "pull") return daemon.catalog.find((c) => c.name === decl.name)?.guest;
  const have = daemon.images.find((i) => i.name === image && !i.problems);
  if (have) return have.guest ?? undefined;
  if (decl?.source.kind !== "import") return undefined;
  try {
    const manifest = JSON.parse(await readFile(path.join(decl.source.path, MANIFEST_FILE), "utf8"));
    return typeof manifest?.guest === "string" ? manifest.guest : undefined;
  } catch {
    return undefined;
  }
}

/** Programs a role installs from the mirror (src/mirror/install.ts) must be there, or declared. */
async function missingInstalls(
  lab: DesiredLab,
  daemon: DaemonView,
  roles: string[],
): Promise<FieldProblem[]> {
  const have = new Set([
    ...lab.artifacts.map((a) => a.name),
    ...(daemon.mirror ?? []).filter((a) => !a.problem).map((a) => a.name),
  ]);
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const m of lab.machines) {
    if (seen.has(m.field) || !roles.includes(m.role)) continue;
    seen.add(m.field);
    if (m.image === undefined || !imageRunsUnits({ guest: await guestOf(lab, daemon, m.image) })) continue;
    const missing = (await roleArtifacts(defaultTemplatesDir(), m.role)).filter((n) => !have.has(n));
    for (const name of missing)
      out.push({
        path: `${m.field}.role`,
        message: `role ${m.role} runs ${name} from the lab mirror, which does not have it: ${addArtifactHint(name)} (or declare it under artifacts)`,
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
  for (const unit of fleetUnits(lab, unitFiles)) {
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
      net.cluster?.apiVip,
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
  await addRegistries(desired, loaded.lab.registries, os.homedir(), fileProblems);
  fileProblems.push(
    ...(await cloudConfigProblems(desired, roles, sshKeys)),
    ...missingFiles(desired),
    ...(await missingInstalls(desired, daemon, roles)),
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
    units: fleetUnits(desired, unitFiles),
  };
  const observed: Observed = { ...daemon, fleet: await fleetState(desired, daemon.vms, extras.ips) };
  return { loaded, desired, observed, extras, steps: planLab(desired, observed, extras) };
}

/** fleet's view, when the lab declares units and its etcd machine is running and answers. */
export async function fleetState(lab: DesiredLab, vms: VmStatus[], ips: Map<string, string>) {
  const members = etcdMembers(lab.machines);
  if (lab.unitGlobs.length === 0 || members.length === 0) return undefined;
  const vm = etcdContact(etcdMembers(vms.filter((v) => members.some((m) => m.name === v.name))));
  const ip = vm?.state === "running" ? (vm.ip ?? ips.get(vm.name)) : undefined;
  return ip ? observeFleet(httpFleetGate(ip, OBSERVE), ip) : undefined;
}
