// Which programs a VM installs from the mirror: those its role's units require
// (lab-install@NAME.service), on every image that runs units. The digests baked into the VM's
// cloud-config are the ones the mirror index holds when the drive is written.
import type { LabContext } from "../context.js";
import { NotFoundError } from "../errors.js";
import type { ImageManifest } from "../image/manifest.js";
import { addArtifactHint } from "../mirror/install.js";
import { mirrorPort } from "../mirror/port.js";
import { findArtifact } from "../mirror/store.js";
import type { NetworkSpec, VmSpec } from "../state/ledger.js";
import { imageRunsUnits, mirrorInstallExtra, roleArtifacts } from "./mirror-install.js";
import { defaultTemplatesDir } from "./render.js";

/** Extra cloud-config that installs the role's programs, or undefined when the VM needs none. */
export async function installExtraFor(
  ctx: LabContext,
  spec: VmSpec,
  net: NetworkSpec,
  /** The manifest of the image the VM boots (resolved once by the caller). */
  manifest: ImageManifest,
): Promise<Record<string, unknown> | undefined> {
  if (!imageRunsUnits(manifest)) return undefined;
  const names = await roleArtifacts(defaultTemplatesDir(), spec.role);
  if (names.length === 0) return undefined;
  const artifacts = [];
  for (const name of names) {
    const entry = await findArtifact(ctx, name);
    if (!entry) {
      throw new NotFoundError(`role ${spec.role} runs ${name} from the lab mirror, which does not have it`, {
        hint: addArtifactHint(name),
      });
    }
    artifacts.push({ name, sha256: entry.sha256 });
  }
  return mirrorInstallExtra({ gateway: net.gateway, port: ctx.mirror?.port ?? mirrorPort(), artifacts });
}
