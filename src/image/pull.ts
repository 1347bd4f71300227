// `lab image pull NAME`: a catalog entry → its concrete release version → a download checked
// against the release's SHA512 → an image in the store. The same version twice downloads nothing;
// two pulls of one image at the same time share one download.
import type { LabContext } from "../context.js";
import { DownloadError } from "../errors.js";
import { SingleFlight } from "../state/atomic.js";
import { validateImageName } from "../state/names.js";
import { BASE_URL_ENV, type CatalogEntry, findEntry, loadCatalog, releaseUrls } from "./catalog.js";
import { findDigest, parseDigests, releaseVersion } from "./digests.js";
import { downloadToFile, fetchText } from "./download.js";
import { installStaged } from "./install.js";
import type { ImageManifest } from "./manifest.js";
import { checkImageDisk } from "./qemu-img.js";
import { findImage, type ResolvedImage } from "./resolve.js";
import { createStaging } from "./staging.js";
import { assertUnused } from "./usage.js";

export interface PullOptions {
  /** Replaces the entry's base URL (may hold {channel}); default: $LAB_IMAGE_BASE_URL. */
  baseUrl?: string;
  /** A release version; default: the channel's current one. */
  version?: string;
}

export interface PullResult extends ResolvedImage {
  /** false when that version was already in the store. */
  changed: boolean;
}

/** Per image directory: later callers join the running pull and get its progress too. */
const pulls = new SingleFlight<PullResult>();

export async function pullImage(ctx: LabContext, name: string, opts: PullOptions = {}): Promise<PullResult> {
  validateImageName(name);
  const key = ctx.paths.image(name).dir;
  const running = pulls.join(key, ctx.progress);
  if (running) {
    ctx.progress?.(`joining the pull of ${name} already under way`);
    return running;
  }
  return pulls.start(key, (progress) => doPull({ ...ctx, progress }, name, opts), { progress: ctx.progress });
}

async function resolveVersion(
  entry: CatalogEntry,
  base: string | undefined,
  version?: string,
): Promise<string> {
  if (version) {
    if (!/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(version))
      throw new DownloadError(`invalid release version ${version}`);
    return version;
  }
  const url = releaseUrls(entry, "current", base).versionTxt;
  const found = releaseVersion(await fetchText(url));
  if (!found)
    throw new DownloadError(`${url} names no FLATCAR_VERSION`, {
      hint: "is the base URL a Flatcar channel directory?",
    });
  return found;
}

async function expectedSha512(entry: CatalogEntry, digestsUrl: string): Promise<string> {
  const sha512 = findDigest(parseDigests(await fetchText(digestsUrl)), entry.file, "sha512");
  if (!sha512)
    throw new DownloadError(`${digestsUrl} lists no SHA512 for ${entry.file}`, {
      hint: "the release looks incomplete; try again later",
    });
  return sha512;
}

function pulledManifest(entry: CatalogEntry, version: string, url: string, sha512: string): ImageManifest {
  return {
    name: entry.name,
    version,
    format: entry.format,
    disk: `disk.${entry.format}`,
    fleet: entry.fleet,
    guest: entry.guest,
    features: { configDrive: entry.configDrive },
    source: { kind: "pull", url, sha512, channel: entry.channel },
    importedAt: new Date().toISOString(),
  };
}

async function doPull(ctx: LabContext, name: string, opts: PullOptions): Promise<PullResult> {
  const entry = findEntry(await loadCatalog(), name);
  const base = opts.baseUrl || process.env[BASE_URL_ENV] || undefined;
  const version = await resolveVersion(entry, base, opts.version);
  ctx.progress?.(`${name}: release ${version}`, { version });
  const existing = await findImage(ctx.paths, name).catch(() => undefined);
  if (existing?.manifest.version === version && existing.manifest.source?.kind === "pull") {
    return { ...existing, changed: false };
  }
  if (existing) await assertUnused(ctx, name, "replace"); // before downloading; checked again at the swap
  const urls = releaseUrls(entry, version, base);
  const sha512 = await expectedSha512(entry, urls.digests);
  const manifest = pulledManifest(entry, version, urls.image, sha512);
  const staging = await createStaging(ctx.paths, name);
  try {
    const got = await downloadToFile(ctx.host, urls.image, staging.file(manifest.disk), {
      decompress: entry.compression === "bz2" ? ["bzip2", "-dc"] : undefined,
      algorithm: "sha512",
      onProgress: (p) => ctx.progress?.("downloading", { ...p }),
    });
    if (got.digest !== sha512) {
      throw new DownloadError(`SHA512 of ${urls.image} does not match ${urls.digests}`, {
        hint: "the download was damaged or the release changed under it; nothing was kept, try again",
        details: { expected: sha512, actual: got.digest },
      });
    }
    ctx.progress?.("verifying the disk");
    const format = await checkImageDisk(ctx.host, staging.file(manifest.disk), urls.image);
    if (format !== entry.format)
      throw new DownloadError(`${urls.image} unpacked to a ${format} disk, not ${entry.format}`);
    const image = await installStaged(ctx, staging, manifest);
    ctx.events.emit("image.pulled", { image: name, version, url: urls.image, bytes: got.bytes });
    return { ...image, changed: true };
  } finally {
    await staging.discard();
  }
}
