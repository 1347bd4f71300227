// HTTP for image pulls: small text files, and large images streamed through a hash and
// (optionally) a decompressor into a file, so an image never sits in memory.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DownloadError, LabError, NotFoundError } from "../errors.js";
import type { Host } from "../host/host.js";

/** undici hides the useful part ("other side closed", "ECONNREFUSED") in the cause. */
function describe(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const cause = e.cause ? `: ${e.cause.code ?? e.cause.message}` : "";
  return `${e.message ?? String(err)}${cause}`;
}

const BASE_URL_HINT = "check the network, or --base-url / LAB_IMAGE_BASE_URL";

/** `hint` goes with every failure: image pulls name their base URL, mirror artifacts their URL. */
async function get(url: string, hint = BASE_URL_HINT): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: "follow" });
  } catch (err) {
    throw new DownloadError(`cannot fetch ${url} (${describe(err)})`, { hint, cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    const message = `${url}: HTTP ${res.status} ${res.statusText}`.trim();
    if (res.status === 404) throw new NotFoundError(message, { hint: `no such file there; ${hint}` });
    throw new DownloadError(message, { hint });
  }
  return res;
}

/** A small text file; more than `maxBytes` is refused before it is all read. */
export async function fetchText(
  url: string,
  opts: { hint?: string; maxBytes?: number } = {},
): Promise<string> {
  const hint = opts.hint ?? BASE_URL_HINT;
  const max = opts.maxBytes ?? 1024 * 1024;
  const res = await get(url, hint);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > max) {
        await res.body?.cancel().catch(() => undefined);
        throw new DownloadError(`${url} is larger than ${max} bytes`, { hint });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(`reading ${url} failed (${describe(err)})`, { hint, cause: err });
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface DownloadProgress {
  bytes: number;
  total?: number;
}

export interface DownloadOptions {
  /** A filter the bytes go through before the file, e.g. ["bzip2", "-dc"]. */
  decompress?: readonly string[];
  /** Digest of the bytes as they arrive (before decompression). */
  algorithm?: "sha512" | "sha256";
  onProgress?: (p: DownloadProgress) => void;
  /** At most one progress report per interval (the last one is always sent). */
  progressIntervalMs?: number;
  /** The hint of every failure (default: the image pull's base URL options). */
  hint?: string;
}

export interface DownloadResult {
  bytes: number;
  digest: string;
}

export async function downloadToFile(
  host: Host,
  url: string,
  outFile: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const res = await get(url, opts.hint);
  const total = Number(res.headers.get("content-length")) || undefined;
  const hash = createHash(opts.algorithm ?? "sha512");
  const interval = opts.progressIntervalMs ?? 200;
  let bytes = 0;
  let last = 0;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < interval) return;
    last = now;
    opts.onProgress?.({ bytes, total });
  };
  async function* metered(body: AsyncIterable<Uint8Array>) {
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.length;
      report(false);
      yield chunk;
    }
  }
  if (!res.body) throw new DownloadError(`${url}: empty response`, { hint: opts.hint ?? BASE_URL_HINT });
  const input = Readable.from(metered(res.body as AsyncIterable<Uint8Array>), { objectMode: false });
  try {
    if (opts.decompress) await host.pipe(opts.decompress, input, outFile);
    else await pipeline(input, createWriteStream(outFile, { mode: 0o644 }));
  } catch (err) {
    if (err instanceof LabError) throw err;
    throw new DownloadError(`download of ${url} broke off after ${bytes} bytes (${describe(err)})`, {
      hint: "try again; nothing of a broken download is kept",
      cause: err,
    });
  }
  if (total !== undefined && bytes !== total) {
    throw new DownloadError(`download of ${url} ended after ${bytes} of ${total} bytes`, {
      hint: "try again",
    });
  }
  report(true);
  return { bytes, digest: hash.digest("hex") };
}
