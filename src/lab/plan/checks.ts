// Everything checked before `lab up` creates anything: names, references between sections,
// fixed addresses, roles, unit globs and the cluster's address ranges. Pure: what the host and
// the daemon know is gathered beforehand into a CheckEnv.

import type { FieldProblem } from "../../field-problems.js";
import { checkXFleet } from "../../fleet/xfleet.js";
import { validateArtifactName } from "../../mirror/names.js";
import type { Reservation } from "../../net/dnsmasq-config.js";
import { fixedAddressProblem, staticRoom } from "../../net/static-ips.js";
import type { NetworkSpec } from "../../state/ledger.js";
import { validateImageName, validateNetName, validateVmName } from "../../state/names.js";
import type { DesiredLab, DesiredMachine } from "../file/desired.js";
import { type LocalUnit, matchUnits, selectUnits } from "../file/units.js";
import { apiServerCount, withInstances } from "./api-servers.js";
import { checkRanges, type HostRanges } from "./check-ranges.js";
import { checkApiVip } from "./check-vip.js";
import { addressingFor, planIps } from "./ips.js";

export interface CheckEnv {
  host: HostRanges;
  /** Lab networks that exist (any name). */
  labNetworks: NetworkSpec[];
  /** Reservations (kept MAC/IP per name) of those networks, by network name. */
  reservations: Map<string, Reservation[]>;
  roles: string[];
  /** Names pullable from the image catalog. */
  catalog: string[];
  /** Unit files found in the units directory. */
  unitFiles: LocalUnit[];
  /** Problems found while reading the files the lab file names (ssh keys, import paths). */
  fileProblems: FieldProblem[];
}

function tryName(field: string, name: string, check: (n: string) => string, out: FieldProblem[]): void {
  try {
    check(name);
  } catch (err) {
    const hint = (err as { hint?: string }).hint;
    out.push({ path: field, message: hint ? `${(err as Error).message} (${hint})` : (err as Error).message });
  }
}

function duplicates<T>(items: T[], key: (t: T) => string, field: (t: T) => string, what: string) {
  const seen = new Map<string, string>();
  const out: FieldProblem[] = [];
  for (const item of items) {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined)
      out.push({ path: field(item), message: `duplicate ${what} ${k} (also ${first})` });
    else seen.set(k, field(item));
  }
  return out;
}

function checkNames(lab: DesiredLab, p: FieldProblem[]): void {
  for (const n of lab.networks) tryName(`${n.field}.name`, n.name, validateNetName, p);
  for (const i of lab.images) tryName(`${i.field}.name`, i.name, validateImageName, p);
  for (const a of lab.artifacts) tryName(`${a.field}.name`, a.name, validateArtifactName, p);
  const reported = new Set<string>();
  for (const m of lab.machines) {
    if (reported.has(m.field)) continue;
    const before = p.length;
    tryName(`${m.field}.${m.nameField}`, m.name, validateVmName, p);
    if (p.length > before) reported.add(m.field);
  }
  p.push(
    ...duplicates(
      lab.networks,
      (n) => n.name,
      (n) => `${n.field}.name`,
      "network name",
    ),
  );
  p.push(
    ...duplicates(
      lab.images,
      (i) => i.name,
      (i) => `${i.field}.name`,
      "image name",
    ),
  );
  p.push(
    ...duplicates(
      lab.artifacts,
      (a) => a.name,
      (a) => `${a.field}.name`,
      "artifact name",
    ),
  );
  p.push(
    ...duplicates(
      lab.machines,
      (m) => m.name,
      (m) => `${m.field}.${m.nameField}`,
      "machine name",
    ),
  );
}

function checkReferences(lab: DesiredLab, env: CheckEnv, p: FieldProblem[]): void {
  const nets = new Set(lab.networks.map((n) => n.name));
  const images = lab.images.map((i) => i.name);
  for (const img of lab.images) {
    if (img.source.kind === "pull" && !env.catalog.includes(img.source.catalog))
      p.push({
        path: `${img.field}.pull`,
        message: `no catalog image ${img.source.catalog} (the catalog has: ${env.catalog.join(", ") || "nothing"})`,
      });
  }
  for (const m of unique(lab.machines)) {
    if (!nets.has(m.network))
      p.push({ path: `${m.field}.network`, message: `no network ${m.network} in this file` });
    if (m.image === undefined)
      p.push({
        path: `${m.field}.image`,
        message: `several images are declared: name one (${images.join(", ")})`,
      });
    else if (!images.includes(m.image))
      p.push({
        path: `${m.field}.image`,
        message: `no image ${m.image} in this file (${images.join(", ")})`,
      });
    if (!env.roles.includes(m.role))
      p.push({
        path: `${m.field}.role`,
        message: `unknown role ${m.role}: roles are the templates in cloud-config/ (${env.roles.join(", ")})`,
      });
  }
}

/** One entry per machine group: its problems are the same for every machine it expands to. */
function unique(machines: DesiredMachine[]): DesiredMachine[] {
  const seen = new Set<string>();
  return machines.filter((m) => !seen.has(m.field) && seen.add(m.field));
}

function checkFixedIps(lab: DesiredLab, env: CheckEnv, p: FieldProblem[]): void {
  for (const net of lab.networks) {
    let addr: ReturnType<typeof addressingFor>;
    try {
      addr = addressingFor(
        net,
        env.labNetworks.find((n) => n.name === net.name),
      );
    } catch {
      continue; // the subnet or DHCP range itself is reported by the range checks
    }
    const machines = lab.machines.filter((m) => m.network === net.name);
    const before = p.length;
    p.push(...checkApiVip(net, addr, machines, env.reservations.get(net.name) ?? []));
    for (const m of machines.filter((x) => x.ip !== undefined)) {
      const problem = fixedAddressProblem(addr, m.ip!);
      const field = `${m.field}.ip`;
      if (problem === "not-host")
        p.push({
          path: field,
          message: `${m.ip} is not a host address in ${net.field}.subnet ${addr.subnet.text}`,
        });
      else if (problem === "gateway")
        p.push({ path: field, message: `${m.ip} is the gateway of ${net.name}` });
      else if (problem === "dhcp-range")
        p.push({
          path: field,
          message: `${m.ip} is inside the DHCP range ${addr.dhcpStart}-${addr.dhcpEnd} of ${net.name}`,
        });
    }
    p.push(
      ...duplicates(
        machines.filter((m) => m.ip),
        (m) => m.ip!,
        (m) => `${m.field}.ip`,
        "fixed ip",
      ),
    );
    if (p.length > before) continue;
    // One problem for a network that cannot hold its machines, not one per machine.
    const room = staticRoom(addr);
    if (machines.length > room) {
      p.push({
        path: `${net.field}.subnet`,
        message: `${machines.length} machines on ${net.name}, but ${addr.subnet.text} has only ${room} static addresses (outside the DHCP range ${addr.dhcpStart}-${addr.dhcpEnd})`,
      });
      continue;
    }
    p.push(...planIps(machines, addr, env.reservations.get(net.name) ?? [], net.cluster?.apiVip).problems);
  }
}

function checkUnits(lab: DesiredLab, env: CheckEnv, p: FieldProblem[]): void {
  const roles = new Set(lab.machines.map((m) => m.role));
  lab.unitGlobs.forEach((glob, i) => {
    const field = `fleet.units[${i}]`;
    const matched = matchUnits(glob, env.unitFiles);
    if (matched.length === 0) {
      p.push({ path: field, message: `${glob} matches no unit file in ${lab.unitsDir}` });
      return;
    }
    for (const u of matched) {
      if (u.problem) {
        p.push({ path: field, message: u.problem });
        continue;
      }
      try {
        const rules = checkXFleet(u.options!, u.file);
        for (const md of rules.machineMetadata.filter((x) => x.key === "role" && !roles.has(x.value)))
          p.push({
            path: field,
            message: `${u.name} runs on role=${md.value}, but no machine has that role`,
          });
      } catch (err) {
        p.push({ path: field, message: (err as Error).message });
      }
    }
  });
  // Behind an API VIP the instances run their templates' options: those must pass the same checks.
  const count = apiServerCount(lab);
  if (count === undefined) return;
  const seen = new Set<string>();
  for (const u of withInstances(selectUnits(lab.unitGlobs, env.unitFiles), env.unitFiles, count)) {
    if (seen.has(u.file) || !/@\d+\./.test(u.name)) continue;
    seen.add(u.file);
    try {
      if (u.problem) throw new Error(u.problem);
      checkXFleet(u.options!, u.file);
    } catch (err) {
      p.push({ path: "fleet.units", message: (err as Error).message });
    }
  }
}

/** Every problem with the lab file in this environment; empty when `lab up` may go ahead. */
export function checkLab(lab: DesiredLab, env: CheckEnv): FieldProblem[] {
  const p: FieldProblem[] = [...env.fileProblems];
  checkNames(lab, p);
  checkReferences(lab, env, p);
  const perNet = new Map<string, number>();
  for (const m of lab.machines) perNet.set(m.network, (perNet.get(m.network) ?? 0) + 1);
  p.push(...checkRanges(lab.networks, perNet, env.host, env.labNetworks));
  if (!p.some((x) => /^networks\[\d+\]\.(subnet|dhcpRange)$/.test(x.path))) checkFixedIps(lab, env, p);
  checkUnits(lab, env, p);
  return p;
}
