// `lab vm create`: validates everything first, writes the VM's identity to the ledger before any
// file exists, then makes the overlay and the config-2 drive, and starts it unless --no-start.

import type { VmCreateRequest } from "../api/vms.js";
import { defaultTemplatesDir, listRoles } from "../cloudconfig/render.js";
import type { LabContext } from "../context.js";
import { ConflictError, NotFoundError, UsageError } from "../errors.js";
import { listImages, resolveImage } from "../image/resolve.js";
import { reservationsFor } from "../net/network.js";
import { DEFAULT_NETWORK } from "../net/plan.js";
import { checkPortsFree, formatPort, parsePublish } from "../net/ports.js";
import { ensureLabKeyPair } from "../ssh/keys.js";
import { parsePublicKey } from "../ssh/public-key.js";
import { faultPoint } from "../state/faults.js";
import { RestartPolicy, type VmSpec } from "../state/ledger.js";
import {
  tapName,
  validateImageName,
  validateNetName,
  validateRoleName,
  validateVmName,
} from "../state/names.js";
import { withRollback } from "../state/steps.js";
import { defaultMemoryMiB } from "./defaults.js";
import { createOverlay, removeVmFiles, writeVmConfigDrive } from "./files.js";
import { planIdentity } from "./identity.js";
import { getSpec, startVm } from "./lifecycle.js";
import { removeVmPorts, syncVmPorts } from "./ports.js";
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

/** Turns a request into a VM spec, or a clear error; touches nothing. */
async function planVm(ctx: LabContext, req: VmCreateRequest): Promise<VmSpec> {
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
  return {
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
}

/** A VM's port forwards as one comparable string (sorted HOST:GUEST/PROTO). */
const portsKey = (v: VmSpec) => (v.ports ?? []).map(formatPort).sort().join(",");

export async function createVm(
  ctx: LabContext,
  req: VmCreateRequest,
): Promise<{ status: VmStatus; changed: boolean }> {
  const spec = await planVm(ctx, req);
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
  const identity = planIdentity(ledger, net, spec.name, req.ip);
  const hadIdentity = ledger.identities[spec.name];
  await withRollback(async (undo) => {
    undo.push("dnsmasq", () => ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name)));
    // Identity first: a crash from here on can leak a reservation, never hand it out twice.
    await ctx.ledger.update((l) => {
      l.identities[spec.name] = identity;
      l.vms[spec.name] = spec;
    });
    undo.push("ledger", () =>
      ctx.ledger.update((l) => {
        delete l.vms[spec.name];
        if (hadIdentity) l.identities[spec.name] = hadIdentity;
        else delete l.identities[spec.name];
      }),
    );
    undo.push("files", () => removeVmFiles(ctx, spec.name));
    await ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name));
    undo.push("ports", () => removeVmPorts(ctx, spec.name));
    await syncVmPorts(ctx, spec.name);
    faultPoint("vm-create:files");
    await createOverlay(ctx, spec.name, await resolveImage(ctx.paths, spec.image));
    // Rendered here so a bad template fails the create; the lab key and the ISO come with start.
    const labKey = req.noStart ? [await ensureLabKeyPair(ctx.host, ctx.paths)] : [];
    await writeVmConfigDrive(ctx, spec, labKey, { iso: !!req.noStart });
  });
  ctx.events.emit("vm.created", { vm: spec.name, ip: identity.ip, mac: identity.mac });
  if (req.noStart) return { status: vmStatus(ctx, getSpec(ctx, spec.name), identity), changed: true };
  const started = await startVm(ctx, spec.name);
  return { status: started.status, changed: true };
}
