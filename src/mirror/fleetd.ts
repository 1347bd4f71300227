// Which VMs get fleetd from the mirror: a role that runs fleet on an image without it. The digest
// baked into the VM's cloud-config is the one the mirror index holds when the drive is written.
import { fleetInstallExtra, imageNeedsFleetd, roleUsesFleet } from "../cloudconfig/fleet-install.js";
import { defaultTemplatesDir } from "../cloudconfig/render.js";
import type { LabContext } from "../context.js";
import { NotFoundError } from "../errors.js";
import { resolveImage } from "../image/resolve.js";
import type { NetworkSpec, VmSpec } from "../state/ledger.js";
import { mirrorPort } from "./port.js";
import { findArtifact } from "./store.js";

export const FLEETD_ARTIFACT = "fleetd";

/** Extra cloud-config that installs fleetd, or undefined when the VM needs none. */
export async function fleetdExtraFor(
  ctx: LabContext,
  spec: VmSpec,
  net: NetworkSpec,
): Promise<Record<string, unknown> | undefined> {
  const image = await resolveImage(ctx.paths, spec.image);
  if (!imageNeedsFleetd(image.manifest)) return undefined;
  if (!(await roleUsesFleet(defaultTemplatesDir(), spec.role))) return undefined;
  const entry = await findArtifact(ctx, FLEETD_ARTIFACT);
  if (!entry) {
    throw new NotFoundError(
      `role ${spec.role} runs fleet, image ${image.name} has none built in, and the mirror has no ${FLEETD_ARTIFACT}`,
      {
        hint: `add a fleetd binary: 'lab mirror add ${FLEETD_ARTIFACT} URL --sha256 HEX' or 'lab mirror import ${FLEETD_ARTIFACT} FILE'`,
      },
    );
  }
  return fleetInstallExtra({
    gateway: net.gateway,
    port: ctx.mirror?.port ?? mirrorPort(),
    artifact: FLEETD_ARTIFACT,
    sha256: entry.sha256,
  });
}
