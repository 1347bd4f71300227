// The upstream fleet and coreos-cloudinit binaries the tests run: $LAB_SHARED_BIN, else
// ../shared/bin beside the repository.
import { existsSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./lab.js";

export function sharedBin(tool: string): string {
  const dir = process.env.LAB_SHARED_BIN || path.resolve(repoRoot, "../shared/bin");
  const file = path.join(dir, tool);
  if (!existsSync(file))
    throw new Error(
      `${file} not found: set LAB_SHARED_BIN to the folder with fleetd, fleetctl, coreos-cloudinit`,
    );
  return file;
}
