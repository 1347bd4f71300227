// `lab vm create`: validates everything first (the plan), then runs create-steps.ts: the ledger
// before any file exists, then the start steps (or, with --no-start, the disk and drive only).

import type { VmCreateRequest } from "../api/vms.js";
import { defaultTemplatesDir, listRoles } from "../cloudconfig/render.js";
import type { LabContext } from "../context.js";
import { ConflictError, NotFoundError, UsageError } from "../errors.js";
import { listImages, type ResolvedImage, resolveImage } from "../image/resolve.js";
import { DEFAULT_NETWORK } from "../net/plan.js";
import { checkPortsFree, formatPort, parsePublish } from "../net/ports.js";
import { parsePublicKey } from "../ssh/public-key.js";
import { RestartPolicy, type VmSpec } from "../state/ledger.js";
import {
  tapName,
  validateImageName,
  validateNetName,
  validateRoleName,
  validateVmName,
} from "../state/names.js";
import { runSteps } from "../state/steps.js";
import { type CreateState, createSteps } from "./create-steps.js";
import { defaultMemoryMiB } from "./defaults.js";
import { planIdentity } from "./identity.js";
import { getSpec, startVm } from "./lifecycle.js";
import { specDifferences } from "./same-spec.js";
import { type VmStatus, vmStatus } from "./status.js";
import { checkTapFree } from "./tap.js";

export type { VmCreateRequest };

/** The role of a VM created without --role: a machine that needs no fleet (cloud-config/plain.yml). */
export const DEFAULT_ROLE = "plain";

function checkNumber(
  value: number | undefined,
  field: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return n;
}

async function pickImage(ctx: LabContext, requested?: string): Promise<string> {
  if (requested) return validateImageName(requested);
  const images = await listImages(ctx.paths);
  if (images.length === 1) return images[0]!.name;
  throw new UsageError(images.length === 0 ? "no images yet" : "several images: pass --image", {
    hint:
      images.length === 0
        ? "add one with 'lab image pull flatcar-stable' or 'lab image import'"
        : `one of: ${images.map((i) => i.name).join(", ")}`,
  });
}

/** Turns a request into a VM spec (and the image it boots), or a clear error; touches nothing. */
async function planVm(
  ctx: LabContext,
  req: VmCreateRequest,
): Promise<{ spec: VmSpec; image: ResolvedImage }> {
  const name = validateVmName(req.name);
  const role = validateRoleName(req.role || DEFAULT_ROLE);
  const roles = await listRoles(defaultTemplatesDir());
  if (!roles.includes(role)) {
    throw new NotFoundError(`unknown role ${role}`, {
      hint: `roles are the templates in cloud-config/: ${roles.join(", ")}`,
    });
  }
  const image = await resolveImage(ctx.paths, await pickImage(ctx, req.image));
  const network = validateNetName(req.network ?? DEFAULT_NETWORK);
  if (!ctx.ledger.read().networks[network]) {
    throw new ConflictError(`network ${network} is not up`, {
      hint: `run 'lab net up${network === DEFAULT_NETWORK ? "" : ` ${network}`}' first`,
    });
  }
  const bridge = Object.values(ctx.ledger.read().networks).find((n) => n.bridge === tapName(name));
  if (bridge) {
    throw new ConflictError(`VM ${name}'s tap ${tapName(name)} would be network ${bridge.name}'s bridge`, {
      hint: "pick another VM name",
    });
  }
  if (!ctx.ledger.read().vms[name]) await checkTapFree(ctx, name);
  const configDrive = req.configDrive ?? "iso";
  const drives = image.manifest.features?.configDrive;
  if (configDrive === "9p" && drives && !drives.includes("9p")) {
    throw new UsageError(`image ${image.name} cannot read a 9p config drive`, {
      hint: "use --config-drive iso",
    });
  }
  const restart = RestartPolicy.safeParse(req.restart ?? "no");
  if (!restart.success)
    throw new UsageError(`--restart must be no, on-failure or always, got ${req.restart}`);
  for (const key of req.sshKeys ?? []) {
    if (typeof key !== "string" || parsePublicKey(key) === undefined) {
      throw new UsageError("an --ssh-key file does not hold one OpenSSH public key", {
        hint: "pass a *.pub file",
      });
    }
  }
  const ports = (req.publish ?? []).map(parsePublish);
  checkPortsFree(name, ports, Object.values(ctx.ledger.read().vms));
  const spec: VmSpec = {
    name,
    role,
    image: image.name,
    memoryMiB: checkNumber(
      req.memoryMiB,
      "--memory (MiB)",
      64,
      262144,
      defaultMemoryMiB(image.manifest.guest),
    ),
    cpus: checkNumber(req.cpus, "--cpus", 1, 64, 1),
    network,
    sshKeys: (req.sshKeys ?? []).map((k) => k.trim()),
    configDrive,
    restart: restart.data,
    accel: req.accel ?? "auto",
    ...(req.cloudConfig ? { cloudConfig: req.cloudConfig } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    wantRunning: false,
    createdAt: new Date().toISOString(),
  };
  return { spec, image };
}

/** A VM's port forwards as one comparable string (sorted HOST:GUEST/PROTO). */
const portsKey = (v: VmSpec) => (v.ports ?? []).map(formatPort).sort().join(",");

export async function createVm(
  ctx: LabContext,
  req: VmCreateRequest,
): Promise<{ status: VmStatus; changed: boolean }> {
  const { spec, image } = await planVm(ctx, req);
  const existing = ctx.ledger.read().vms[spec.name];
  if (existing) {
    const kept = ctx.ledger.read().identities[spec.name];
    const differs = specDifferences(
      { ...existing, ip: kept?.ip, ports: portsKey(existing) },
      { ...spec, ip: req.ip, ports: portsKey(spec) },
    );
    if (differs.length > 0) {
      const what = differs.map((d) => `${d.what} ${d.have} (asked: ${d.want})`).join(", ");
      throw new ConflictError(`VM ${spec.name} already exists with ${what}`, {
        hint: `destroy it first ('lab vm destroy ${spec.name}') or pick another name`,
        details: { differs },
      });
    }
    return req.noStart
      ? { status: vmStatus(ctx, existing, ctx.ledger.read().identities[spec.name]), changed: false }
      : startVm(ctx, spec.name);
  }
  const ledger = ctx.ledger.read();
  const net = ledger.networks[spec.network]!;
  const id = planIdentity(ledger, net, spec.name, req.ip);
  const state: CreateState = {
    ctx,
    spec,
    id,
    net,
    fresh: true,
    image,
    hadIdentity: ledger.identities[spec.name],
  };
  await runSteps(createSteps(!!req.noStart), state);
  ctx.events.emit("vm.created", { vm: spec.name, ip: id.ip, mac: id.mac });
  if (!req.noStart)
    ctx.events.emit("vm.started", { vm: spec.name, ip: id.ip, mac: id.mac, accel: state.accel });
  return { status: vmStatus(ctx, getSpec(ctx, spec.name), id), changed: true };
}
