// The lab file (lab.yaml): networks with their cluster plan, images, machine groups, fleet units
// and mirror artifacts. Strict: an unknown key is an error, so a typo never silently drops a
// setting. lab.schema.json is generated from this schema (scripts/gen-schema.mjs).
import { z } from "zod";
import { MEMORY_SIZE, memorySizeMiB } from "../../vm/defaults.js";

const INT = "expected a positive integer";
/** The host addresses of a /16, the largest lab subnet: no lab can hold more machines. */
export const MAX_MACHINES = 65534;
const positiveInt = () => z.number({ error: INT }).int({ error: INT }).positive({ error: INT });
const text = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const cidr = (example: string) =>
  z
    .string({ error: `expected an IPv4 CIDR such as ${example}` })
    .regex(CIDR, { error: `expected an IPv4 CIDR such as ${example}` });
const MEMORY = "expected MiB as a number, or a size such as 512M or 2G";

/** Canonical dotted quad: no leading zeros (octal to inet_aton), no hex, every part 0-255. */
const IPV4 =
  /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

export const ClusterSchema = z
  .strictObject({
    podNetwork: cidr("10.0.0.0/16").describe("flannel's network: every node gets a slice of it for its pods"),
    podSubnetLength: z
      .number({ error: "expected a prefix length from 8 to 30" })
      .int({ error: "expected a prefix length from 8 to 30" })
      .min(8, { error: "expected a prefix length from 8 to 30" })
      .max(30, { error: "expected a prefix length from 8 to 30" })
      .default(24)
      .describe("prefix length of each node's pod subnet (flannel SubnetLen)"),
    serviceRange: cidr("10.10.0.0/22")
      .optional()
      .describe("Kubernetes service cluster IP range (--service-cluster-ip-range)"),
    nodePorts: z
      .string({ error: "expected a port range such as 30000-32767" })
      .regex(/^\d{1,5}-\d{1,5}$/, { error: "expected a port range such as 30000-32767" })
      .default("30000-32767")
      .describe("Kubernetes node-port range (--service-node-port-range)"),
    apiVip: z
      .string({ error: "expected an IPv4 address" })
      .regex(IPV4, { error: "expected an IPv4 address" })
      .optional()
      .describe(
        "virtual IP of the API servers, held by the lb machines (keepalived) and served by haproxy: in the subnet, outside the DHCP range",
      ),
  })
  .describe("cluster planning for this network: checked for overlaps before anything is created");

export const NetworkSchema = z
  .strictObject({
    name: text("a network name").describe("lab network name (1-9 characters: a-z, 0-9, '-')"),
    subnet: cidr("172.16.11.0/24").describe("private IPv4 subnet, /16 to /29"),
    bridge: text("an interface name").optional().describe("OVS bridge (default labbr0 / labbr-NAME)"),
    domain: text("a DNS domain").optional().describe("DNS domain answered by dnsmasq (default lab)"),
    dhcpRange: z
      .string({ error: "expected START-END" })
      .regex(/^[0-9.]+\s*-\s*[0-9.]+$/, { error: "expected START-END" })
      .optional()
      .describe("dynamic DHCP range START-END (default: upper half of the subnet)"),
    cluster: ClusterSchema.optional(),
  })
  .describe("a lab network: OVS bridge, NAT and dnsmasq");

export const ImageSchema = z
  .strictObject({
    name: text("an image name").describe("image name VMs refer to"),
    import: text("a path").optional().describe("bundle directory or qcow2/raw disk, relative to this file"),
    pull: text("a catalog name").optional().describe("catalog entry to pull (see 'lab image catalog')"),
  })
  .superRefine((img, ctx) => {
    if ((img.import === undefined) === (img.pull === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of import or pull" });
    if (img.pull !== undefined && img.pull !== img.name)
      ctx.addIssue({
        code: "custom",
        path: ["pull"],
        message: `a pulled image is stored under its catalog name: set name to ${img.pull}`,
      });
  })
  .describe("a base image: imported from a path or pulled from the catalog");

export const MachineSchema = z
  .strictObject({
    name: text("a VM name").optional().describe("the machine's name (only with count 1)"),
    group: text("a group name").optional().describe("machines are named GROUP-1 ... GROUP-COUNT"),
    role: text("a role")
      .default("plain")
      .describe("cloud-config role: a template in cloud-config/ (default plain: no fleet)"),
    count: positiveInt()
      .max(MAX_MACHINES, {
        error: `at most ${MAX_MACHINES}: no lab subnet (/16 at most) holds more machines`,
      })
      .default(1)
      .describe("how many machines of this group"),
    ip: z
      .string({ error: "expected an IPv4 address" })
      .regex(IPV4, { error: "expected an IPv4 address" })
      .optional()
      .describe("fixed address (only with count 1): inside the subnet, outside the DHCP range"),
    image: text("an image name").optional().describe("image name (default: the only image declared)"),
    network: text("a network name").optional().describe("network name (default: the first network)"),
    memory: z
      .union(
        [
          positiveInt(),
          z
            .string()
            .regex(MEMORY_SIZE, { error: MEMORY })
            .refine((v) => memorySizeMiB(v) !== undefined, { error: MEMORY }),
        ],
        { error: MEMORY },
      )
      .optional()
      .describe("memory: MiB, or with M/G (default 1024; 256 for the lab-test image)"),
    cpus: positiveInt().optional().describe("virtual CPUs (default 1)"),
    sshKeys: z
      .array(text("a file path"), { error: "expected a list of file paths" })
      .optional()
      .describe("public key files authorised for 'core', relative to this file (~ allowed)"),
    restart: z
      .enum(["no", "on-failure", "always"], { error: "expected no, on-failure or always" })
      .optional(),
    configDrive: z.enum(["iso", "9p"], { error: "expected iso or 9p" }).optional(),
    cloudConfig: z
      .record(z.string(), z.unknown(), { error: "expected a mapping" })
      .optional()
      .describe("extra cloud-config merged over the role's template"),
    ports: z
      .array(
        z.string({ error: "expected HOST:GUEST[/tcp|udp]" }).regex(/^\d+:\d+(\/(tcp|udp))?$/, {
          error: "expected HOST:GUEST[/tcp|udp], e.g. 8080:80",
        }),
        { error: "expected a list of HOST:GUEST[/tcp|udp]" },
      )
      .optional()
      .describe("host ports forwarded to the machine (only with count 1), as with vm create --publish"),
  })
  .superRefine((m, ctx) => {
    if ((m.name === undefined) === (m.group === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of name (one machine) or group" });
    if (m.name !== undefined && m.count !== 1)
      ctx.addIssue({ code: "custom", path: ["count"], message: "a named machine has count 1; use group" });
    if (m.ip !== undefined && m.count !== 1)
      ctx.addIssue({ code: "custom", path: ["ip"], message: "a fixed ip needs count 1" });
    if (m.ports !== undefined && m.count !== 1)
      ctx.addIssue({
        code: "custom",
        path: ["ports"],
        message: "a host port goes to one machine: ports need count 1",
      });
  })
  .describe("a group of machines with one role");

export const FleetSchema = z
  .strictObject({
    units: z
      .array(text("a unit glob"), { error: "expected a list of unit globs" })
      .default([])
      .describe("globs over the unit directory, e.g. kube-*.service; each must match a file"),
    dir: text("a directory")
      .optional()
      .describe("where unit files live, relative to this file (default units)"),
  })
  .describe("fleet units started once every machine has joined fleet");

export const ArtifactSchema = z
  .strictObject({
    name: text("an artifact name").describe("file name in the mirror, e.g. fleetd"),
    url: z.url({ error: "expected a URL" }).optional().describe("where labd downloads it from"),
    path: text("a path").optional().describe("a local file to copy in instead, relative to this file"),
    sha256: z
      .string({ error: "expected 64 hex digits" })
      .regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits" })
      .optional()
      .describe("the file's SHA-256 (required with url)"),
  })
  .superRefine((a, ctx) => {
    if ((a.url === undefined) === (a.path === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of url or path" });
    else if (a.url !== undefined && a.sha256 === undefined)
      ctx.addIssue({ code: "custom", path: ["sha256"], message: "a downloaded artifact needs its sha256" });
  })
  .describe("a file the lab mirror serves to the VMs (fleetd for images without fleet)");

export const RegistrySchema = z
  .strictObject({
    host: z
      .string({ error: "expected a registry host such as docker.io or registry.lab:5000" })
      .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/, {
        error: "expected a registry host such as docker.io or registry.lab:5000",
      })
      .describe("registry host[:port] as image names use it"),
    mirrors: z
      .array(
        z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._/-]*)?$/, {
          error: "expected an http:// or https:// URL",
        }),
      )
      .default([])
      .describe("endpoints tried in order before the registry (containerd hosts.toml [host] entries)"),
    insecure: z
      .boolean()
      .default(false)
      .describe("the registry speaks plain HTTP; https endpoints are not verified (skip_verify)"),
    credentials: z
      .string()
      .optional()
      .describe("file on the host with one line USER:PASSWORD, sent as Basic authorization"),
  })
  .describe("containerd registry configuration on every kubernetes machine");

export const LabFileSchema = z
  .strictObject({
    networks: z.array(NetworkSchema, { error: "expected a list of networks" }).min(1, {
      error: "declare at least one network",
    }),
    images: z.array(ImageSchema, { error: "expected a list of images" }).min(1, {
      error: "declare at least one image",
    }),
    machines: z.array(MachineSchema, { error: "expected a list of machine groups" }).default([]),
    fleet: FleetSchema.optional(),
    artifacts: z.array(ArtifactSchema, { error: "expected a list of artifacts" }).default([]),
    registries: z.array(RegistrySchema, { error: "expected a list of registries" }).default([]),
  })
  .superRefine((lab, ctx) => {
    const total = lab.machines.reduce((n, m) => n + m.count, 0);
    if (total > MAX_MACHINES)
      ctx.addIssue({
        code: "custom",
        path: ["machines"],
        message: `${total} machines in all; no lab subnet (/16 at most) holds more than ${MAX_MACHINES}`,
      });
  })
  .describe("a whole lab for 'lab up -f FILE'");

export type LabFile = z.infer<typeof LabFileSchema>;
export type NetworkDecl = z.infer<typeof NetworkSchema>;
export type ImageDecl = z.infer<typeof ImageSchema>;
export type MachineDecl = z.infer<typeof MachineSchema>;

/** The JSON Schema editors use (yaml-language-server, VS Code) for lab.yaml. */
export function labJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(LabFileSchema, { io: "input", unrepresentable: "any" }),
    title: "lab.yaml",
  };
}
