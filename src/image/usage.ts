// Which VMs use an image: the ledger says so, and for safety every VM overlay on disk is asked
// for its backing file too (a VM directory the ledger forgot still needs its base image).
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import { backingPath, type QemuImgInfo, qemuImgInfo } from "./qemu-img.js";

export interface ImageUsers {
  /** VMs whose ledger entry names the image. */
  vms: string[];
  /** VM directories whose overlay is backed by a file of the image (or cannot be read). */
  overlays: string[];
}

export function ledgerUsers(ctx: Pick<LabContext, "ledger">, name: string): string[] {
  return Object.values(ctx.ledger.read().vms)
    .filter((v) => v.image === name)
    .map((v) => v.name)
    .sort();
}

async function overlayUsers(ctx: LabContext, imageDir: string): Promise<string[]> {
  const users: string[] = [];
  const entries = await readdir(ctx.paths.vmsDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const disk = ctx.paths.vm(e.name).disk;
    if (
      !(await stat(disk).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    let info: QemuImgInfo;
    try {
      info = await qemuImgInfo(ctx.host, disk, { forceShare: true });
    } catch (err) {
      // An overlay we cannot read may still sit on this image: refuse rather than guess.
      users.push(`${e.name} (overlay unreadable: ${(err as Error).message.split("\n")[0]})`);
      continue;
    }
    const backing = backingPath(disk, info);
    if (backing && (backing === imageDir || backing.startsWith(`${imageDir}${path.sep}`))) users.push(e.name);
  }
  return users.sort();
}

export async function imageUsers(ctx: LabContext, name: string): Promise<ImageUsers> {
  return { vms: ledgerUsers(ctx, name), overlays: await overlayUsers(ctx, ctx.paths.image(name).dir) };
}

/** Replacing or removing a base image under a VM's overlay would corrupt the VM's disk. */
export async function assertUnused(
  ctx: LabContext,
  name: string,
  action: "remove" | "replace",
): Promise<void> {
  const users = await imageUsers(ctx, name);
  const all = [...new Set([...users.vms, ...users.overlays])];
  if (all.length === 0) return;
  const first = users.vms[0] ?? users.overlays[0]!.split(" ")[0];
  throw new ConflictError(`cannot ${action} image ${name}: used by VM ${all.join(", ")}`, {
    hint: `destroy those VMs first ('lab vm destroy ${first}'), or ${action === "replace" ? "import under another --name" : "keep the image"}`,
    details: { image: name, vms: users.vms, overlays: users.overlays },
  });
}
