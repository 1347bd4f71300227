// What `lab image list` and `lab image catalog` show: stored images with the VMs using them,
// and catalog entries with the version (if any) already pulled.
import type { LabContext } from "../context.js";
import { type CatalogEntry, loadCatalog } from "./catalog.js";
import { listImages } from "./resolve.js";
import { ledgerUsers } from "./usage.js";

export interface ImageStatus {
  name: string;
  version?: string;
  format: "qcow2" | "raw";
  sizeBytes: number;
  guest?: string;
  fleet: boolean;
  cloudinit?: string;
  boot: "direct" | "disk";
  usedBy: string[];
  source?: { kind: "pull" | "import"; channel?: string; url?: string };
  importedAt?: string;
  dir: string;
  problems?: string[];
}

export async function imageStatus(ctx: LabContext): Promise<ImageStatus[]> {
  return (await listImages(ctx.paths)).map((img) => {
    const m = img.manifest;
    return {
      name: img.name,
      version: m.version,
      format: m.format,
      sizeBytes: img.sizeBytes,
      guest: m.guest,
      fleet: m.fleet,
      cloudinit: m.cloudinit,
      boot: m.boot ? "direct" : "disk",
      usedBy: ledgerUsers(ctx, img.name),
      source: m.source && { kind: m.source.kind, channel: m.source.channel, url: m.source.url },
      importedAt: m.importedAt || undefined,
      dir: img.dir,
      problems: img.problems,
    };
  });
}

export interface CatalogStatus extends CatalogEntry {
  /** Version in the store, when this entry has been pulled. */
  installed?: string;
}

export async function catalogStatus(ctx: LabContext): Promise<CatalogStatus[]> {
  const images = new Map((await listImages(ctx.paths)).map((i) => [i.name, i]));
  return (await loadCatalog()).images.map((e) => {
    const img = images.get(e.name);
    return { ...e, installed: img && !img.problems ? (img.manifest.version ?? "?") : undefined };
  });
}
