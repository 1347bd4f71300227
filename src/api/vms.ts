// VM routes: the one VM-create request (the CLI, `lab up` and labd all use this type) and the one
// VM object every answer and `--json` carries.
import { z } from "zod";
import { route } from "./route.js";
import { nullable } from "./shape.js";

export const VmCreateRequest = z.strictObject({
  name: z.string(),
  /** Default: the plain role (a machine that needs no fleet). */
  role: z.string().optional(),
  image: z.string().optional(),
  memoryMiB: z.number().optional(),
  cpus: z.number().optional(),
  network: z.string().optional(),
  sshKeys: z.array(z.string()).optional(),
  ip: z.string().optional(),
  noStart: z.boolean().optional(),
  configDrive: z.enum(["iso", "9p"]).optional(),
  restart: z.enum(["no", "on-failure", "always"]).optional(),
  accel: z.enum(["auto", "kvm", "tcg"]).optional(),
  /** Extra cloud-config merged into the role template's output. */
  cloudConfig: z.record(z.string(), z.unknown()).optional(),
  /** Port forwards as HOST:GUEST[/tcp|udp] (net/ports.ts). */
  publish: z.array(z.string()).optional(),
});
export type VmCreateRequest = z.infer<typeof VmCreateRequest>;

export const VmStopRequest = z.strictObject({ timeoutSeconds: z.number().nonnegative().optional() });

export const VmLastExit = z.object({
  at: z.string(),
  code: z.number().nullable(),
  signal: z.string().nullable(),
  crashed: z.boolean(),
  logTail: z.string(),
});

export const Vm = z
  .object({
    name: z.string(),
    role: z.string(),
    state: z.enum(["running", "stopped", "crashed"]),
    mac: nullable(z.string()),
    ip: nullable(z.string()),
    network: z.string(),
    image: z.string(),
    memoryMiB: z.number(),
    cpus: z.number(),
    restart: z.string(),
    configDrive: z.string(),
    tap: z.string(),
    pid: nullable(z.number()),
    uptimeSeconds: nullable(z.number()),
    lastExit: nullable(VmLastExit),
    /** Port forwards, HOST:GUEST/PROTO. */
    ports: z.array(z.string()).default([]),
  })
  .meta({ id: "Vm", description: "A VM: its spec, identity (MAC, IP) and observed state." });
export type Vm = z.output<typeof Vm>;

/** What create, start, stop and restart answer: the VM after the call, and whether it changed. */
export const VmChange = z.object({ vm: Vm, changed: z.boolean() });
export const VmRemoval = z.object({ name: z.string(), removed: z.boolean(), forgotten: z.boolean() });

export const SshTarget = z.object({
  name: z.string(),
  ip: z.string(),
  user: z.string(),
  keyFile: z.string(),
  knownHostsFile: z.string(),
  hostKeys: z.number(),
});
export type SshTarget = z.output<typeof SshTarget>;

export const vmRoutes = {
  list: route({ method: "GET", path: "/v1/vms", summary: "every VM", answer: z.array(Vm) }),
  get: route({ method: "GET", path: "/v1/vms/:name", summary: "one VM", answer: Vm }),
  create: route({
    method: "POST",
    path: "/v1/vms",
    summary: "create (and start) a VM; the same spec again changes nothing",
    body: VmCreateRequest,
    answer: VmChange,
  }),
  start: route({ method: "POST", path: "/v1/vms/:name/start", summary: "start", answer: VmChange }),
  stop: route({
    method: "POST",
    path: "/v1/vms/:name/stop",
    summary: "stop (ACPI, then kill after the timeout)",
    body: VmStopRequest,
    answer: VmChange,
  }),
  restart: route({
    method: "POST",
    path: "/v1/vms/:name/restart",
    summary: "stop, then start",
    answer: VmChange,
  }),
  destroy: route({
    method: "DELETE",
    path: "/v1/vms/:name",
    summary: "destroy; ?forget=true also releases its MAC and IP",
    query: z.strictObject({ forget: z.enum(["true", "false"]).optional() }),
    answer: VmRemoval,
  }),
  console: route({
    method: "POST",
    path: "/v1/vms/:name/console",
    summary: "the console socket of a running VM",
    answer: z.object({ socket: z.string(), serialLog: z.string() }),
  }),
  ssh: route({
    method: "GET",
    path: "/v1/vms/:name/ssh",
    summary: "how to ssh into a VM",
    answer: SshTarget,
  }),
};
