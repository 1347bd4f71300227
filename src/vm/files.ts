// Per-VM disk and config-2 drive: the overlay on the image and the rendered cloud-config.

import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { writeConfigDrive } from "../cloudconfig/config-drive.js";
import { defaultTemplatesDir, renderCloudConfig } from "../cloudconfig/render.js";
import { deepMerge } from "../cloudconfig/tree.js";
import type { LabContext } from "../context.js";
import { clientUrl, clientUrls, etcdMembers } from "../etcd/members.js";
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

/**
 * The etcd client URLs a VM's cloud-config names: every etcd member of its network (itself
 * included when it is one), else the DNS name `etcd.<domain>`.
 */
export function etcdEndpoint(ledger: Ledger, spec: VmSpec, id: Identity, net: NetworkSpec): string {
  const known = Object.values(ledger.vms)
    .filter((v) => v.name !== spec.name)
    .map((v) => ({ name: v.name, role: v.role, network: v.network, ip: ledger.identities[v.name]?.ip }));
  const self = { name: spec.name, role: spec.role, network: spec.network, ip: id.ip };
  const urls = clientUrls(etcdMembers([...known, self], spec.network));
  return urls || clientUrl(`etcd.${net.domain}`);
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
