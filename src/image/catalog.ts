// The catalog of pullable images (images/catalog.json) and the URLs of one release of an entry.
//
// What Flatcar publishes (checked against these sources):
// - https://www.flatcar.org/docs/latest/installing/community-platforms/notes-for-distributors/ :
//   https://{alpha,beta,stable}.release.flatcar-linux.net/amd64-usr/ holds one directory per
//   version plus `current`; each has a version.txt; distributors should read
//   current/version.txt and download from the versioned directory.
// - flatcar/flatcar-website content/docs/latest/installing/vms/qemu.md: the QEMU image is qcow2,
//   flatcar_production_qemu_image.img (uncompressed) with a detached GPG .sig beside it.
// - flatcar/scripts ci-automation/vms.sh: qemu images are published with
//   --image_compression_formats "bz2,none", i.e. both flatcar_production_qemu_image.img.bz2 and
//   flatcar_production_qemu_image.img; ci-automation/ci_automation_common.sh `create_digests`
//   writes `<file>.DIGESTS` for every artifact ("# MD5 HASH", "# SHA1 HASH", "# SHA512 HASH"
//   blocks of "<hex>  <name>") and a clearsigned `<file>.DIGESTS.asc`, plus `<file>.sig`.
// - version.txt: FLATCAR_BUILD, FLATCAR_BRANCH, FLATCAR_PATCH, FLATCAR_VERSION,
//   FLATCAR_VERSION_ID, FLATCAR_BUILD_ID, FLATCAR_SDK_VERSION (KEY=VALUE lines).
// lab takes the .bz2 (smaller to download), checks its SHA512 from the DIGESTS file and
// decompresses it as it arrives. The GPG signatures are not checked: that needs Flatcar's
// rotating signing key on the host.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { NotFoundError, UsageError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";
import { repoRoot } from "../state/repo.js";

const CatalogEntrySchema = z.object({
  name: z.string(),
  description: z.string(),
  channel: z.string().regex(/^[a-z0-9-]+$/),
  baseUrl: z.string(),
  file: z.string().regex(/^[A-Za-z0-9._+-]+$/),
  compression: z.enum(["bz2", "none"]),
  digests: z.string().regex(/^[A-Za-z0-9._+-]+$/),
  format: z.enum(["qcow2", "raw"]),
  guest: z.string(),
  fleet: z.boolean(),
  configDrive: z.array(z.string()),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

const CatalogSchema = z.object({ images: z.array(CatalogEntrySchema) });
export type Catalog = z.infer<typeof CatalogSchema>;

export const BASE_URL_ENV = "LAB_IMAGE_BASE_URL";

export function defaultCatalogFile(): string {
  return path.join(repoRoot(), "images", "catalog.json");
}

export async function loadCatalog(file = defaultCatalogFile()): Promise<Catalog> {
  const text = await readFile(file, "utf8");
  const parsed = CatalogSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${file}: ${firstProblemText(parsed.error)}`);
  }
  return parsed.data;
}

export function findEntry(catalog: Catalog, name: string): CatalogEntry {
  const entry = catalog.images.find((e) => e.name === name);
  if (!entry) {
    throw new NotFoundError(`no image ${JSON.stringify(name)} in the catalog`, {
      hint: `one of: ${catalog.images.map((e) => e.name).join(", ")} (see 'lab image catalog'); for your own disk use 'lab image import'`,
    });
  }
  return entry;
}

export interface ReleaseUrls {
  /** The channel directory, e.g. https://stable.release.flatcar-linux.net/amd64-usr */
  base: string;
  versionTxt: string;
  image: string;
  digests: string;
}

/** A base URL override may hold `{channel}`; only http(s) is fetched. */
export function channelBase(entry: CatalogEntry, override?: string): string {
  const template = override?.trim() || entry.baseUrl;
  const base = template.replaceAll("{channel}", entry.channel).replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`invalid base URL ${JSON.stringify(template)}`, {
      hint: "e.g. https://{channel}.release.flatcar-linux.net/amd64-usr",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`base URL must be http or https, got ${url.protocol}`);
  }
  return base;
}

/** URLs of one release; `version` is a concrete version or "current". */
export function releaseUrls(entry: CatalogEntry, version: string, override?: string): ReleaseUrls {
  const base = channelBase(entry, override);
  const dir = `${base}/${encodeURIComponent(version)}`;
  return {
    base,
    versionTxt: `${dir}/version.txt`,
    image: `${dir}/${entry.file}`,
    digests: `${dir}/${entry.digests}`,
  };
}
