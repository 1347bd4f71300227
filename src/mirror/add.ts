// `lab mirror add NAME URL --sha256 X` and `lab mirror import NAME FILE`: bytes into a temp file,
// digest checked, then committed by the store. Downloads reuse the image pull's streaming code.
// An add may name the digest file the project publishes instead of the digest (artifact lists'
// sha256_url): that small file is fetched first, and its digest is then what the add insists on.
import path from "node:path";
import type { LabContext } from "../context.js";
import { DownloadError, UsageError } from "../errors.js";
import { downloadToFile, fetchText } from "../image/download.js";
import { parsePublishedDigest } from "./artifact-list.js";
import type { MirrorEntry } from "./index-file.js";
import { validateArtifactName, validateSha256 } from "./names.js";
import { copyWithDigest, newTempFile } from "./staging.js";
import { type ArtifactResult, commitArtifact, findArtifact, oncePerName, sameOrConflict } from "./store.js";

export interface AddRequest {
  name: string;
  url: string;
  /** Exactly one of sha256 (the expected digest) and sha256Url (where it is published). */
  sha256?: string;
  sha256Url?: string;
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
export async function fetchPublishedDigest(ctx: LabContext, url: string): Promise<string> {
  ctx.progress?.(`fetching the published sha256 ${url}`);
  const text = await fetchText(url, {
    hint: "check the network and the artifact's sha256_url (a digest file, not the artifact)",
    maxBytes: 64 * 1024,
  });
  return parsePublishedDigest(text, url);
}

export async function addArtifact(ctx: LabContext, req: AddRequest): Promise<ArtifactResult> {
  const name = validateArtifactName(req.name);
  const url = validateUrl(req.url);
  if ((req.sha256 === undefined) === (req.sha256Url === undefined))
    throw new UsageError("give exactly one of sha256 or sha256Url", {
      hint: "the expected digest, or the URL of the digest file published beside the artifact",
    });
  const digestUrl = req.sha256Url === undefined ? undefined : validateUrl(req.sha256Url);
  // The published digest is fetched every time: a present artifact counts only if it still matches.
  const sha256 =
    digestUrl === undefined ? validateSha256(req.sha256!) : await fetchPublishedDigest(ctx, digestUrl);
  const hint = digestUrl && `nothing was kept; the file does not match the sha256 published at ${digestUrl}`;
  return oncePerName(ctx, name, sha256, async (c) => {
    const existing = await findArtifact(c, name);
    if (existing) return sameOrConflict(existing, sha256);
    const temp = await newTempFile(c.paths, name);
    try {
      c.progress?.(`downloading ${url}`);
      const got = await downloadToFile(c.host, url, temp.file, {
        algorithm: "sha256",
        onProgress: (p) => c.progress?.("downloading", { ...p }),
        hint: URL_HINT,
      });
      if (got.digest !== sha256) throw mismatch(url, sha256, got.digest, hint);
      return await commitArtifact(c, temp.file, entry(name, sha256, got.bytes, url));
    } finally {
      await temp.discard();
    }
  });
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
