// Per-VM disk and config-2 drive: the overlay on the image and the rendered cloud-config.

import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { writeConfigDrive } from "../cloudconfig/config-drive.js";
import { defaultTemplatesDir, renderCloudConfig } from "../cloudconfig/render.js";
import { deepMerge } from "../cloudconfig/tree.js";
import type { LabContext } from "../context.js";
import type { ResolvedImage } from "../image/resolve.js";
import { installExtraFor } from "../mirror/install.js";
import { mirrorPort } from "../mirror/port.js";
import type { Identity, Ledger, NetworkSpec, VmSpec } from "../state/ledger.js";
import { writeVmRecord } from "./record.js";

export function overlayArgv(base: ResolvedImage, overlay: string): string[] {
  return [
    "qemu-img",
    "create",
    "-q",
    "-f",
    "qcow2",
    "-F",
    base.manifest.format,
    "-b",
    base.diskPath,
    overlay,
  ];
}

export async function createOverlay(ctx: LabContext, name: string, image: ResolvedImage): Promise<void> {
  const f = ctx.paths.vm(name);
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
  await writeVmRecord(ctx.paths, ctx.ledger.read(), name);
  if (!existsSync(f.disk)) await ctx.host.run(overlayArgv(image, f.disk));
}

/** fleet and etcd find the cluster's etcd at the first etcd VM of the network, else by DNS name. */
export function etcdEndpoint(ledger: Ledger, spec: VmSpec, id: Identity, net: NetworkSpec): string {
  if (spec.role === "etcd") return `http://${id.ip}:2379`;
  const etcd = Object.values(ledger.vms)
    .filter((v) => v.role === "etcd" && v.network === spec.network)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  const ip = etcd ? ledger.identities[etcd.name]?.ip : undefined;
  return `http://${ip ?? `etcd.${net.domain}`}:2379`;
}

function mergeExtras(
  ...extras: (Record<string, unknown> | undefined)[]
): Record<string, unknown> | undefined {
  const present = extras.filter((e): e is Record<string, unknown> => e !== undefined);
  if (present.length === 0) return undefined;
  return present.reduce((acc, e) => deepMerge(acc, e) as Record<string, unknown>, {});
}

export async function writeVmConfigDrive(
  ctx: LabContext,
  spec: VmSpec,
  extraKeys: string[] = [],
  /** Skip the ISO when the VM starts right away: start builds it again anyway. */
  opts: { iso?: boolean } = {},
): Promise<void> {
  const ledger = ctx.ledger.read();
  const id = ledger.identities[spec.name]!;
  const net = ledger.networks[spec.network]!;
  const sshKeys = [...spec.sshKeys, ...extraKeys];
  const userData = await renderCloudConfig(defaultTemplatesDir(), {
    name: spec.name,
    role: spec.role,
    ip: id.ip,
    prefix: net.prefix,
    gateway: net.gateway,
    dns: net.gateway,
    domain: net.domain,
    etcdEndpoint: etcdEndpoint(ledger, spec, id, net),
    mirrorUrl: `http://${net.gateway}:${ctx.mirror?.port ?? mirrorPort()}`,
    sshKeys,
    extra: mergeExtras(spec.cloudConfig, await installExtraFor(ctx, spec, net)),
  });
  const f = ctx.paths.vm(spec.name);
  const iso = spec.configDrive === "iso" && opts.iso !== false ? f.configIso : undefined;
  await writeConfigDrive(ctx.host, f.configDir, iso, {
    uuid: id.uuid,
    name: spec.name,
    hostname: spec.name,
    userData,
    sshKeys,
  });
}

export async function removeVmFiles(ctx: LabContext, name: string): Promise<void> {
  const f = ctx.paths.vm(name);
  await rm(f.dir, { recursive: true, force: true });
  await rm(f.runDir, { recursive: true, force: true });
  await rm(f.serialLog, { force: true });
  await rm(`${f.serialLog}.times`, { force: true });
}
