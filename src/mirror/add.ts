// `lab mirror add NAME URL --sha256 X` and `lab mirror import NAME FILE`: bytes into a temp file,
// digest checked, then committed by the store. Downloads reuse the image pull's streaming code.
// An add may name the digest file the project publishes instead of the digest (artifact lists'
// sha256_url): that small file is fetched first, and its digest is then what the add insists on.
import { lstat, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { LabContext } from "../context.js";
import { ConflictError, DownloadError, UsageError } from "../errors.js";
import { downloadToFile, fetchText } from "../image/download.js";
import { isMemberPath, parsePublishedDigest } from "./artifact-list.js";
import type { MirrorEntry } from "./index-file.js";
import { validateArtifactName, validateSha256 } from "./names.js";
import { copyWithDigest, newTempFile } from "./staging.js";
import { type ArtifactResult, commitArtifact, findArtifact, oncePerName, sameOrConflict } from "./store.js";

export interface AddRequest {
  name: string;
  url: string;
  /** Exactly one of sha256 (the expected digest), sha256Url (where it is published) and trustFirstUse. */
  sha256?: string;
  sha256Url?: string;
  /** The publisher gives no digest: the first download's is computed, reported and recorded. */
  trustFirstUse?: boolean;
  /** Take this member out of the downloaded .tar.gz as the artifact. */
  member?: string;
}

export interface ImportRequest {
  name: string;
  /** A file labd made: the upload of the file the client read with its own rights. */
  path: string;
  /** The client's name for it, for messages. */
  origin?: string;
  sha256?: string;
}

function validateUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(raw)}`, { hint: "give an http:// or https:// URL" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`only http and https URLs can be added, got ${url.protocol}`, {
      hint: "for a local file use 'lab mirror import NAME FILE'",
    });
  return url.href;
}

function mismatch(what: string, expected: string, actual: string, hint?: string): DownloadError {
  return new DownloadError(`sha256 of ${what} is ${actual}, not the expected ${expected}`, {
    hint: hint ?? "nothing was kept; check --sha256 and the source",
    details: { expected, actual },
  });
}

const URL_HINT = "check the artifact's URL and the network";

/** Fetches a published digest file (a line, not the artifact: at most 64 KiB) and returns its sha256. */
export async function fetchPublishedDigest(ctx: LabContext, url: string, fileName?: string): Promise<string> {
  ctx.progress?.(`fetching the published sha256 ${url}`);
  const text = await fetchText(url, {
    hint: "check the network and the artifact's sha256_url (a digest file, not the artifact)",
    maxBytes: 64 * 1024,
  });
  return parsePublishedDigest(text, url, fileName);
}

type Trust = "pinned" | "published" | "first-use";

async function expectedDigest(ctx: LabContext, req: AddRequest, url: string) {
  const given = [req.sha256, req.sha256Url, req.trustFirstUse ? true : undefined].filter(
    (x) => x !== undefined,
  );
  if (given.length !== 1)
    throw new UsageError("give exactly one of sha256, sha256Url or trustFirstUse", {
      hint: "the expected digest, the URL of the digest file published beside the artifact, or (no digest published) trust on first use",
    });
  if (req.trustFirstUse) return { sha256: undefined, trust: "first-use" as Trust };
  if (req.sha256 !== undefined) return { sha256: validateSha256(req.sha256), trust: "pinned" as Trust };
  const digestUrl = validateUrl(req.sha256Url!);
  const fileName = decodeURIComponent(new URL(url).pathname.split("/").at(-1) ?? "");
  return {
    sha256: await fetchPublishedDigest(ctx, digestUrl, fileName),
    trust: "published" as Trust,
    digestUrl,
  };
}

export async function addArtifact(ctx: LabContext, req: AddRequest): Promise<ArtifactResult> {
  const name = validateArtifactName(req.name);
  const url = validateUrl(req.url);
  if (req.member !== undefined && !isMemberPath(req.member))
    throw new UsageError(`invalid archive member ${JSON.stringify(req.member)}`, {
      hint: "a relative path inside the .tar.gz, without '..'",
    });
  // The published digest is fetched every time: a present artifact counts only if it still matches.
  const want = await expectedDigest(ctx, req, url);
  const source = req.member === undefined ? url : `${url}#${req.member}`;
  // Taken out of an archive or trusted on first use, the artifact's own digest is known only after
  // the download: what is already there counts when it came from the same file.
  const direct = req.member === undefined && want.sha256 !== undefined;
  const hint =
    "digestUrl" in want &&
    `nothing was kept; the file does not match the sha256 published at ${want.digestUrl}`;
  return oncePerName(ctx, name, direct ? want.sha256 : undefined, async (c) => {
    const existing = await findArtifact(c, name);
    if (existing && direct) return sameOrConflict(existing, want.sha256!);
    if (existing) return sameSource(existing, source, want.sha256);
    const temp = await newTempFile(c.paths, name);
    try {
      c.progress?.(`downloading ${url}`);
      const got = await downloadToFile(c.host, url, temp.file, {
        algorithm: "sha256",
        onProgress: (p) => c.progress?.("downloading", { ...p }),
        hint: URL_HINT,
      });
      if (want.sha256 !== undefined && got.digest !== want.sha256)
        throw mismatch(url, want.sha256, got.digest, hint || undefined);
      if (want.trust === "first-use")
        c.progress?.(
          `trust on first use: ${url} has sha256 ${got.digest} (its publisher gives no digest); recorded in the mirror index`,
        );
      const download = { sha256: got.digest, trust: want.trust };
      if (req.member === undefined)
        return await commitArtifact(c, temp.file, {
          ...entry(name, got.digest, got.bytes, source),
          download,
        });
      return await commitMember(c, temp.file, req.member, { name, source, download });
    } finally {
      await temp.discard();
    }
  });
}

/** Present from the same download (URL and member, and digest when one is expected): nothing to do. */
function sameSource(existing: MirrorEntry, source: string, sha256: string | undefined): ArtifactResult {
  if (existing.source === source && (sha256 === undefined || existing.download?.sha256 === sha256))
    return { entry: existing, changed: false };
  throw new ConflictError(`the mirror already has ${existing.name} from ${existing.source}`, {
    hint: `VMs may have its digest baked into their cloud-config; 'lab mirror rm ${existing.name}' first to replace it`,
    details: { have: existing.source, wanted: source },
  });
}

/** Extracts `member` of the checked archive and commits it, with its own digest, as the artifact. */
async function commitMember(
  c: LabContext,
  archive: string,
  member: string,
  e: { name: string; source: string; download: MirrorEntry["download"] },
): Promise<ArtifactResult> {
  // The output's temp file first: claiming one sweeps the staging area of what nobody claimed.
  const out = await newTempFile(c.paths, e.name);
  const dir = await mkdtemp(`${archive}.x-`);
  try {
    c.progress?.(`extracting ${member}`);
    await c.host.run(["tar", "-xzf", archive, "-C", dir, "--no-same-owner", "--", member]);
    const file = path.join(dir, member);
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile())
      throw new DownloadError(`${member} in ${e.source.split("#")[0]} is not a regular file`, {
        hint: "check the artifact list's member: the path inside the archive",
      });
    const got = await copyWithDigest(file, out.file);
    return await commitArtifact(c, out.file, {
      ...entry(e.name, got.digest, got.bytes, e.source),
      download: e.download,
    });
  } finally {
    await out.discard();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function importArtifact(ctx: LabContext, req: ImportRequest): Promise<ArtifactResult> {
  const name = validateArtifactName(req.name);
  const wanted = req.sha256 === undefined ? undefined : validateSha256(req.sha256);
  return oncePerName(ctx, name, wanted, async (c) => {
    const existing = await findArtifact(c, name);
    if (existing && wanted !== undefined) return sameOrConflict(existing, wanted);
    const temp = await newTempFile(c.paths, name);
    try {
      const origin = req.origin ?? path.basename(req.path);
      c.progress?.(`storing ${origin}`);
      const got = await copyWithDigest(req.path, temp.file);
      if (wanted !== undefined && got.digest !== wanted) throw mismatch(origin, wanted, got.digest);
      if (existing) return sameOrConflict(existing, got.digest);
      return await commitArtifact(c, temp.file, entry(name, got.digest, got.bytes, "import"));
    } finally {
      await temp.discard();
    }
  });
}

function entry(name: string, sha256: string, size: number, source: string): MirrorEntry {
  return { name, sha256, size, source, addedAt: new Date().toISOString() };
}
