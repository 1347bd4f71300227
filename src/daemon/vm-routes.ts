// API paths for VMs.
import type { LabContext } from "../context.js";
import { ConflictError, UsageError } from "../errors.js";
import type { ConsoleHubs } from "../vm/console-hub.js";
import { createVm } from "../vm/create.js";
import { destroyVm, getSpec, startVm, stopVm } from "../vm/lifecycle.js";
import { vmStatus } from "../vm/status.js";
import type { RequestContext, Route } from "./server.js";

function opt<T>(
  body: Record<string, unknown>,
  key: string,
  type: "string" | "number" | "boolean",
): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type) throw new UsageError(`field ${key} must be a ${type}`);
  return v as T;
}

function stringList(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new UsageError(`field ${key} must be a list of strings`);
  return v as string[];
}

function objectField(body: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new UsageError(`field ${key} must be a mapping`);
  return v as Record<string, unknown>;
}

function createRequest(req: RequestContext) {
  const b = req.body;
  const configDrive = opt<string>(b, "configDrive", "string");
  if (configDrive !== undefined && configDrive !== "iso" && configDrive !== "9p") {
    throw new UsageError(`--config-drive must be iso or 9p, got ${configDrive}`);
  }
  const accel = opt<string>(b, "accel", "string");
  if (accel !== undefined && !["auto", "kvm", "tcg"].includes(accel))
    throw new UsageError(`--accel must be auto, kvm or tcg`);
  return {
    name: opt<string>(b, "name", "string") ?? "",
    role: opt<string>(b, "role", "string") ?? "",
    image: opt<string>(b, "image", "string"),
    memoryMiB: opt<number>(b, "memoryMiB", "number"),
    cpus: opt<number>(b, "cpus", "number"),
    network: opt<string>(b, "network", "string"),
    sshKeys: stringList(b, "sshKeys"),
    ip: opt<string>(b, "ip", "string"),
    noStart: opt<boolean>(b, "noStart", "boolean"),
    configDrive: configDrive as "iso" | "9p" | undefined,
    restart: opt<string>(b, "restart", "string"),
    accel: accel as "auto" | "kvm" | "tcg" | undefined,
    cloudConfig: objectField(b, "cloudConfig"),
    publish: stringList(b, "publish"),
  };
}

export function vmRoutes(ctx: LabContext, hubs: ConsoleHubs): Route[] {
  const { lock } = ctx;
  const status = (name: string) => vmStatus(ctx, getSpec(ctx, name), ctx.ledger.read().identities[name]);
  return [
    {
      method: "GET",
      pattern: "/v1/vms",
      handler: async () => {
        const l = ctx.ledger.read();
        return Object.values(l.vms).map((v) => vmStatus(ctx, v, l.identities[v.name]));
      },
    },
    { method: "GET", pattern: "/v1/vms/:name", handler: async (req) => status(req.params.name!) },
    {
      method: "POST",
      pattern: "/v1/vms",
      handler: (req) => lock.run(() => createVm(ctx, createRequest(req))),
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/start",
      handler: (req) => lock.run(() => startVm(ctx, req.params.name!)),
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/stop",
      handler: (req) => {
        const timeout = opt<number>(req.body, "timeoutSeconds", "number");
        return lock.run(() =>
          stopVm(ctx, req.params.name!, timeout === undefined ? undefined : timeout * 1000),
        );
      },
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/restart",
      handler: (req) =>
        lock.run(async () => {
          await stopVm(ctx, req.params.name!);
          return startVm(ctx, req.params.name!);
        }),
    },
    {
      method: "DELETE",
      pattern: "/v1/vms/:name",
      handler: (req) =>
        lock.run(() => {
          hubs.close(req.params.name!);
          return destroyVm(ctx, req.params.name!, req.query.get("forget") === "true");
        }),
    },
    {
      method: "POST",
      pattern: "/v1/vms/:name/console",
      handler: async (req) => {
        const name = req.params.name!;
        const s = status(name);
        if (s.state !== "running")
          throw new ConflictError(`VM ${name} is ${s.state}`, {
            hint: `start it with 'lab vm start ${name}'`,
          });
        const f = ctx.paths.vm(name);
        return { socket: await hubs.ensure(name, f.console, f.consoleMux), serialLog: f.serialLog };
      },
    },
  ];
}
