// The pure planner of `lab up`: desired resources + what exists → steps. Missing things are
// created, stopped VMs started, matching things left alone, and anything that exists with another
// spec is a conflict (never silently recreated).
import type { Image as ImageStatus } from "../../api/images.js";
import type { Vm as VmStatus } from "../../api/vms.js";
import { ETCD_ROLE, etcdMembers } from "../../etcd/members.js";
import { parseCidr } from "../../net/cidr.js";
import { defaultBridgeName } from "../../state/names.js";
import { defaultMemoryMiB } from "../../vm/defaults.js";
import { specDifferences } from "../../vm/same-spec.js";
import type {
  DesiredArtifact,
  DesiredImage,
  DesiredLab,
  DesiredMachine,
  DesiredNetwork,
} from "../file/desired.js";
import { withFiles } from "./etcd-plan.js";
import { addressingFor } from "./ips.js";
import type { Observed, PlanExtras } from "./observed.js";
import { planFilesFor } from "./plan-files.js";
import { planFleetSteps } from "./plan-fleet.js";
import { type Step, stepId } from "./steps.js";

const DEFAULT_DOMAIN = "lab";

function networkStep(net: DesiredNetwork, observed: Observed): Step {
  const s = observed.networks.find((n) => n.network.name === net.name);
  const bridge = net.bridge ?? defaultBridgeName(net.name);
  const base = {
    id: stepId("network", net.name),
    kind: "network" as const,
    name: net.name,
    body: {
      name: net.name,
      subnet: net.subnet,
      bridge: net.bridge,
      domain: net.domain,
      dhcpRange: net.dhcpRange,
    },
    after: [],
    afterReady: [],
  };
  if (!s) return { ...base, action: "create", detail: `${net.subnet} on ${bridge}` };
  const want = addressingFor(net);
  const n = s.network;
  const differs: string[] = [];
  if (n.subnet !== parseCidr(net.subnet).text) differs.push(`subnet ${n.subnet} (lab file: ${net.subnet})`);
  if (n.bridge !== bridge) differs.push(`bridge ${n.bridge} (lab file: ${bridge})`);
  if (n.domain !== (net.domain ?? DEFAULT_DOMAIN).toLowerCase())
    differs.push(`domain ${n.domain} (lab file: ${net.domain ?? DEFAULT_DOMAIN})`);
  if (differs.length === 0 && (n.dhcpStart !== want.dhcpStart || n.dhcpEnd !== want.dhcpEnd))
    differs.push(`DHCP range ${n.dhcpStart}-${n.dhcpEnd} (lab file: ${want.dhcpStart}-${want.dhcpEnd})`);
  if (differs.length > 0) {
    return {
      ...base,
      action: "conflict",
      detail: `exists with ${differs.join(", ")}`,
      hint: `'lab down -f FILE' (or 'lab net down ${net.name}') first, or make the lab file match`,
    };
  }
  if (!s.bridge || s.dnsmasqPid === null) {
    const broken = [!s.bridge && "bridge missing", s.dnsmasqPid === null && "dnsmasq not running"];
    return { ...base, action: "repair", detail: broken.filter(Boolean).join(", ") };
  }
  return { ...base, action: "unchanged", detail: `${n.subnet} on ${n.bridge}` };
}

function imageStep(img: DesiredImage, observed: Observed): Step {
  const s = observed.images.find((i) => i.name === img.name);
  const source =
    img.source.kind === "pull"
      ? { kind: "pull" as const, catalog: img.source.catalog }
      : { kind: "import" as const, path: img.source.path };
  const from = img.source.kind === "pull" ? `pull ${img.source.catalog}` : `import ${img.source.declared}`;
  const base = { id: stepId("image", img.name), kind: "image" as const, name: img.name, source };
  if (!s) return { ...base, action: "create", detail: from, after: [], afterReady: [] };
  if (s.problems)
    return {
      ...base,
      action: "conflict",
      detail: `is broken: ${s.problems.join("; ")}`,
      hint: `'lab image rm ${img.name}', then 'lab up' again`,
      after: [],
      afterReady: [],
    };
  return { ...base, action: "unchanged", detail: `version ${s.version ?? "?"}`, after: [], afterReady: [] };
}

function artifactStep(a: DesiredArtifact, observed: Observed): Step {
  const s = observed.mirror?.find((x) => x.name === a.name);
  const base = {
    id: stepId("artifact", a.name),
    kind: "artifact" as const,
    name: a.name,
    body: { name: a.name, url: a.url, path: a.path, sha256: a.sha256 },
    after: [],
    afterReady: [],
  };
  if (!s) return { ...base, action: "create", detail: a.url ?? a.path ?? "" };
  if (a.sha256 !== undefined && s.sha256 !== a.sha256)
    return {
      ...base,
      action: "conflict",
      detail: `the mirror holds another ${a.name} (sha256 ${s.sha256.slice(0, 12)}…)`,
      hint: `'lab mirror rm ${a.name}', then 'lab up' again`,
    };
  if (s.problem)
    return {
      ...base,
      action: "conflict",
      detail: s.problem,
      hint: `'lab mirror rm ${a.name}', then 'lab up' again`,
    };
  return { ...base, action: "unchanged", detail: `sha256 ${s.sha256.slice(0, 12)}…` };
}

/** The lab file's ports as VmStatus shows them (HOST:GUEST/PROTO), sorted. */
const portList = (ports: string[] = []) =>
  ports
    .map((p) => (p.includes("/") ? p : `${p}/tcp`))
    .sort()
    .join(",");

/** What differs between a VM that exists and the machine the file declares. */
export function vmDifferences(m: DesiredMachine, s: VmStatus, images: ImageStatus[], ip: string): string[] {
  const guest = images.find((i) => i.name === m.image)?.guest ?? undefined;
  const memory = m.memoryMiB ?? (guest === undefined ? undefined : defaultMemoryMiB(guest));
  const have = { ...s, ip: s.ip ?? undefined, ports: [...(s.ports ?? [])].sort().join(",") };
  return specDifferences(have, {
    role: m.role,
    image: m.image,
    network: m.network,
    memoryMiB: memory,
    cpus: m.cpus ?? 1,
    restart: m.restart ?? "no",
    configDrive: m.configDrive ?? "iso",
    ip: m.ip === undefined ? undefined : ip,
    ports: portList(m.ports),
  }).map((d) => `${d.what} ${d.have} (lab file: ${d.want})`);
}

function vmStep(m: DesiredMachine, lab: DesiredLab, observed: Observed, extras: PlanExtras): Step {
  const ip = extras.ips.get(m.name) ?? "?";
  const etcd = etcdMembers(lab.machines, m.network).filter((x) => x !== m);
  const base = {
    id: stepId("vm", m.name),
    kind: "vm" as const,
    name: m.name,
    body: {
      name: m.name,
      role: m.role,
      image: m.image!,
      network: m.network,
      ip,
      memoryMiB: m.memoryMiB,
      cpus: m.cpus,
      sshKeys: m.sshKeyFiles.map((f) => extras.sshKeys.get(f) ?? ""),
      restart: m.restart,
      configDrive: m.configDrive,
      cloudConfig: withFiles(m.cloudConfig, planFilesFor(m, lab, extras.ips)),
      publish: m.ports,
    },
    // Artifacts first: a VM may install fleetd from the mirror while it boots.
    after: [
      stepId("network", m.network),
      stepId("image", m.image!),
      ...lab.artifacts.map((a) => stepId("artifact", a.name)),
    ],
    afterReady: [],
  };
  const s = observed.vms.find((v) => v.name === m.name);
  if (!s) {
    // Only the others wait for etcd machines: their cloud-config names the members' addresses.
    const after =
      m.role === ETCD_ROLE ? base.after : [...base.after, ...etcd.map((e) => stepId("vm", e.name))];
    return { ...base, after, action: "create", detail: `role ${m.role}, ${ip}` };
  }
  const differs = vmDifferences(m, s, observed.images, ip);
  if (differs.length > 0) {
    return {
      ...base,
      action: "conflict",
      detail: `exists with ${differs.join(", ")}`,
      hint: `'lab vm destroy ${m.name}' to recreate it from the lab file, or make the lab file match`,
    };
  }
  if (s.state !== "running") return { ...base, action: "start", detail: `${s.state}, ${s.ip ?? ip}` };
  return { ...base, action: "unchanged", detail: `running, ${s.ip ?? ip}` };
}

/** The steps of `lab up`, in an order that respects their dependencies. */
export function planLab(lab: DesiredLab, observed: Observed, extras: PlanExtras): Step[] {
  const steps: Step[] = [
    ...lab.networks.map((n) => networkStep(n, observed)),
    ...lab.images.map((i) => imageStep(i, observed)),
    ...lab.artifacts.map((a) => artifactStep(a, observed)),
    ...lab.machines.map((m) => vmStep(m, lab, observed, extras)),
  ];
  return [...steps, ...planFleetSteps(lab, observed.fleet, extras)];
}
