// Per-VM disk and config-2 drive: the overlay on the image and the rendered cloud-config.

import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { writeConfigDrive } from "../cloudconfig/config-drive.js";
import { defaultTemplatesDir, renderCloudConfig } from "../cloudconfig/render.js";
import { installExtraFor } from "../cloudconfig/role-install.js";
import { deepMerge } from "../cloudconfig/tree.js";
import type { LabContext } from "../context.js";
import { clientUrl, clientUrls, etcdMembers } from "../etcd/members.js";
import type { ResolvedImage } from "../image/resolve.js";
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

/** What a VM's cloud-config is rendered from: the VM, where it lives and the image it boots. */
export interface UserDataInput {
  spec: VmSpec;
  id: Identity;
  net: NetworkSpec;
  image: ResolvedImage;
  sshKeys: string[];
}

/** The VM's user_data (its role's cloud-config); the ledger supplies the other VMs (etcd members). */
export async function renderVmUserData(ctx: LabContext, input: UserDataInput): Promise<string> {
  const { spec, id, net } = input;
  return renderCloudConfig(defaultTemplatesDir(), {
    name: spec.name,
    role: spec.role,
    ip: id.ip,
    prefix: net.prefix,
    gateway: net.gateway,
    dns: net.gateway,
    domain: net.domain,
    etcdEndpoint: etcdEndpoint(ctx.ledger.read(), spec, id, net),
    mirrorUrl: `http://${net.gateway}:${ctx.mirror?.port ?? mirrorPort()}`,
    sshKeys: input.sshKeys,
    extra: mergeExtras(spec.cloudConfig, await installExtraFor(ctx, spec, net, input.image.manifest)),
  });
}

/** Writes the config-2 tree (and its ISO when the VM boots from one) from rendered user_data. */
export async function writeVmConfigDrive(
  ctx: LabContext,
  input: { spec: VmSpec; id: Identity; userData: string; sshKeys: string[] },
): Promise<void> {
  const { spec, id } = input;
  const f = ctx.paths.vm(spec.name);
  const iso = spec.configDrive === "iso" ? f.configIso : undefined;
  await writeConfigDrive(ctx.host, f.configDir, iso, {
    uuid: id.uuid,
    name: spec.name,
    hostname: spec.name,
    userData: input.userData,
    sshKeys: input.sshKeys,
  });
}

export async function removeVmFiles(ctx: LabContext, name: string): Promise<void> {
  const f = ctx.paths.vm(name);
  await rm(f.dir, { recursive: true, force: true });
  await rm(f.runDir, { recursive: true, force: true });
  await rm(f.serialLog, { force: true });
  await rm(`${f.serialLog}.times`, { force: true });
}
