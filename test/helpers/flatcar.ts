// The Flatcar-shaped guest (scripts/build-flatcar-image.mjs) and what its VMs install from the lab
// mirror, as a user's would: etcd (trixie's etcd-server 3.5.16, carried beside the image in the
// bundle's mirror/etcd, never inside it) and fleetd (upstream v1.0.0 from ../shared/bin).
import { existsSync } from "node:fs";
import path from "node:path";
import { type LabEnv, repoRoot } from "./lab.js";
import { sharedBin } from "./shared-bin.js";

export const FLATCAR_IMAGE = "lab-flatcar";
export const FLATCAR_BUNDLE = path.join(repoRoot, ".cache/images/lab-flatcar");
export const BUNDLE_ETCD = path.join(FLATCAR_BUNDLE, "mirror/etcd");

/** Throws with the command to run when the bundle has not been built. */
export function requireFlatcarBundle(bundle = FLATCAR_BUNDLE): void {
  if (!existsSync(path.join(bundle, "manifest.json")) || !existsSync(path.join(bundle, "mirror/etcd")))
    throw new Error("build the Flatcar-shaped image first: npx zx scripts/build-flatcar-image.mjs");
}

/** Puts etcd and fleetd into the lab's mirror (`lab mirror import`). */
export async function importMirrorPrograms(lab: LabEnv, bundle = FLATCAR_BUNDLE): Promise<void> {
  await lab.lab(["mirror", "import", "etcd", path.join(bundle, "mirror/etcd")]);
  await lab.lab(["mirror", "import", "fleetd", sharedBin("fleetd")]);
}

/** Imports the image as lab-flatcar and fills the mirror. */
export async function importFlatcar(lab: LabEnv, bundle = FLATCAR_BUNDLE): Promise<void> {
  requireFlatcarBundle(bundle);
  await lab.lab(["image", "import", bundle, "--name", FLATCAR_IMAGE]);
  await importMirrorPrograms(lab, bundle);
}
