// The lab file turned into the resources it asks for: machine groups expanded into named
// machines, defaults filled in, paths made absolute. Pure (the home directory is passed in).
import path from "node:path";
import { deepMerge } from "../../cloudconfig/tree.js";
import { ETCD_ROLE } from "../../etcd/members.js";
import { KUBELET_CONFIG_PATH, kubeletConfig } from "../../kube/kubelet-config.js";
import { memorySizeMiB } from "../../vm/defaults.js";
import type { ImageDecl, LabFile, NetworkDecl } from "./schema.js";

export interface DesiredNetwork {
  field: string;
  name: string;
  subnet: string;
  bridge?: string;
  domain?: string;
  dhcpRange?: string;
  cluster?: NonNullable<NetworkDecl["cluster"]>;
}

export interface DesiredImage {
  field: string;
  name: string;
  source: { kind: "import"; path: string; declared: string } | { kind: "pull"; catalog: string };
}

export interface DesiredMachine {
  /** Field path of the group that declared it, e.g. machines[1]. */
  field: string;
  /** Which key holds the name: `name` or `group`. */
  nameField: string;
  name: string;
  role: string;
  network: string;
  /** undefined when the file declares several images and the machine names none. */
  image?: string;
  ip?: string;
  memoryMiB?: number;
  cpus?: number;
  sshKeyFiles: string[];
  restart?: "no" | "on-failure" | "always";
  configDrive?: "iso" | "9p";
  cloudConfig?: Record<string, unknown>;
  ports?: string[];
}

export interface DesiredArtifact {
  field: string;
  name: string;
  url?: string;
  /** Absolute path of a local file to copy into the mirror. */
  path?: string;
  sha256?: string;
}

export interface DesiredLab {
  file: string;
  networks: DesiredNetwork[];
  images: DesiredImage[];
  machines: DesiredMachine[];
  unitGlobs: string[];
  unitsDir: string;
  artifacts: DesiredArtifact[];
}

/** Resolves a path from the lab file: `~/` is the user's home, relative is beside the file. */
export function resolveFrom(dir: string, home: string, p: string): string {
  if (p === "~" || p.startsWith("~/")) return path.join(home, p.slice(1));
  return path.resolve(dir, p);
}

/** `512` → 512 MiB; `512M` → 512; `2G` → 2048 (the schema has checked the form). */
export function memoryMiB(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : memorySizeMiB(value);
}

function image(decl: ImageDecl, i: number, dir: string, home: string): DesiredImage {
  const field = `images[${i}]`;
  return decl.pull !== undefined
    ? { field, name: decl.name, source: { kind: "pull", catalog: decl.pull } }
    : {
        field,
        name: decl.name,
        source: { kind: "import", path: resolveFrom(dir, home, decl.import!), declared: decl.import! },
      };
}

export function desiredLab(lab: LabFile, file: string, home: string): DesiredLab {
  const dir = path.dirname(file);
  const images = lab.images.map((d, i) => image(d, i, dir, home));
  const onlyImage = images.length === 1 ? images[0]!.name : undefined;
  const machines = lab.machines.flatMap((m, i): DesiredMachine[] => {
    const names =
      m.name !== undefined ? [m.name] : Array.from({ length: m.count }, (_, n) => `${m.group}-${n + 1}`);
    // Worked out once per group: a group may be tens of thousands of machines.
    const network = m.network ?? lab.networks[0]!.name;
    const sshKeyFiles = (m.sshKeys ?? []).map((k) => resolveFrom(dir, home, k));
    const cloudConfig = withClusterPlan(m.cloudConfig, lab.networks.find((n) => n.name === network)?.cluster);
    return names.map((name) => ({
      field: `machines[${i}]`,
      nameField: m.name !== undefined ? "name" : "group",
      name,
      role: m.role,
      network,
      image: m.image ?? onlyImage,
      ip: m.ip,
      memoryMiB: memoryMiB(m.memory),
      cpus: m.cpus,
      sshKeyFiles: [...sshKeyFiles],
      restart: m.restart,
      configDrive: m.configDrive,
      cloudConfig,
      ...(m.ports ? { ports: m.ports } : {}),
    }));
  });
  return {
    file,
    networks: lab.networks.map((n, i) => ({ field: `networks[${i}]`, ...n })),
    images,
    machines: orderForBoot(machines),
    unitGlobs: lab.fleet?.units ?? [],
    unitsDir: resolveFrom(dir, home, lab.fleet?.dir ?? "units"),
    artifacts: lab.artifacts.map((a, i) => ({
      field: `artifacts[${i}]`,
      name: a.name,
      url: a.url,
      path: a.path === undefined ? undefined : resolveFrom(dir, home, a.path),
      sha256: a.sha256,
    })),
  };
}

export const KUBERNETES_ENV_PATH = "/etc/lab/kubernetes.env";

/**
 * The network's cluster plan, for the Kubernetes units (units/kube-*.service) to read on the
 * machine: written by cloud-config to /etc/lab/kubernetes.env before the user's extra cloud-config.
 */
export function withClusterPlan(
  extra: Record<string, unknown> | undefined,
  cluster: NetworkDecl["cluster"],
): Record<string, unknown> | undefined {
  if (cluster === undefined) return extra;
  const lines = [
    `POD_NETWORK=${cluster.podNetwork}`,
    ...(cluster.serviceRange !== undefined ? [`SERVICE_RANGE=${cluster.serviceRange}`] : []),
    `NODE_PORTS=${cluster.nodePorts}`,
    // Only behind a VIP: the API servers' units then share their keys and publish the VIP.
    ...(cluster.apiVip !== undefined ? [`API_VIP=${cluster.apiVip}`] : []),
  ];
  const ours = {
    write_files: [
      { path: KUBERNETES_ENV_PATH, permissions: "0644", content: `${lines.join("\n")}\n` },
      {
        path: KUBELET_CONFIG_PATH,
        permissions: "0644",
        content: kubeletConfig({ serviceRange: cluster.serviceRange }),
      },
    ],
  };
  return extra === undefined ? ours : (deepMerge(ours, extra) as Record<string, unknown>);
}

/**
 * etcd machines first: the others' cloud-config points fleet at the first etcd machine of their
 * network, which the daemon finds in its ledger only once that machine exists.
 */
export function orderForBoot<T extends { role: string }>(machines: T[]): T[] {
  return [...machines.filter((m) => m.role === ETCD_ROLE), ...machines.filter((m) => m.role !== ETCD_ROLE)];
}
