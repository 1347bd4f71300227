// VM routes: the one VM-create request (the CLI, `lab up` and labd all use this type) and the one
// VM object every answer and `--json` carries.
import { z } from "zod";
import { vmPaths } from "./paths.js";
import { withSchemas } from "./route.js";
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
export type VmChange = z.output<typeof VmChange>;
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

export const vmRoutes = withSchemas(vmPaths, {
  list: { answer: z.array(Vm) },
  get: { answer: Vm },
  create: { body: VmCreateRequest, answer: VmChange },
  start: { answer: VmChange },
  stop: { body: VmStopRequest, answer: VmChange },
  restart: { answer: VmChange },
  destroy: { query: z.strictObject({ forget: z.enum(["true", "false"]).optional() }), answer: VmRemoval },
  console: { answer: z.object({ socket: z.string(), serialLog: z.string() }) },
  ssh: { answer: SshTarget },
});
