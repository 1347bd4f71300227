// Image bundles built by scripts/build-*-image.mjs: a directory with manifest.json (written last,
// so a bundle with a manifest is complete), swapped into place as a whole.
import fs from "node:fs";
import path from "node:path";

export function readManifest(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  } catch {
    return null;
  }
}

/** Writes the manifest into the finished `tmp` dir and renames it to `outDir`, replacing an old one. */
export async function installBundle(tmp, outDir, manifest) {
  await fs.promises.writeFile(path.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  // rename(2) cannot replace a non-empty directory: move the old bundle aside first.
  const old = `${outDir}.old-${process.pid}`;
  const hadOld = fs.existsSync(outDir);
  if (hadOld) await fs.promises.rename(outDir, old);
  try {
    await fs.promises.rename(tmp, outDir);
  } catch (e) {
    // A concurrent build won the race: its bundle is as good as ours if the recipe is the same.
    if (readManifest(outDir)?.version !== manifest.version) {
      if (hadOld && !fs.existsSync(outDir)) await fs.promises.rename(old, outDir);
      throw e;
    }
  }
  await fs.promises.rm(old, { recursive: true, force: true });
}
