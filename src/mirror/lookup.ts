// Turns a request line into what the mirror serves. URL paths are looked up in the index and
// never joined onto a directory: anything but "/" or "/<exact artifact name>[.sha256]" is 404,
// including percent-encoded dots and nested paths.
import type { MirrorEntry } from "./index-file.js";
import { isArtifactName } from "./names.js";

export type MirrorAnswer =
  | { kind: "list" }
  | { kind: "file"; entry: MirrorEntry }
  | { kind: "digest"; entry: MirrorEntry }
  | { kind: "not_found" }
  | { kind: "method_not_allowed" };

export const DIGEST_SUFFIX = ".sha256";

export function lookupMirrorPath(
  entries: readonly MirrorEntry[],
  method: string | undefined,
  rawUrl: string | undefined,
): MirrorAnswer {
  if (method !== "GET" && method !== "HEAD") return { kind: "method_not_allowed" };
  // The query string is ignored (a cache buster); the path is taken byte for byte.
  const path = (rawUrl ?? "").split("?")[0]!;
  if (path === "/") return { kind: "list" };
  if (!path.startsWith("/")) return { kind: "not_found" };
  const name = path.slice(1);
  // An artifact that is itself called "x.sha256" wins over the digest of "x".
  const exact = isArtifactName(name) ? entries.find((e) => e.name === name) : undefined;
  if (exact) return { kind: "file", entry: exact };
  if (name.endsWith(DIGEST_SUFFIX)) {
    const base = name.slice(0, -DIGEST_SUFFIX.length);
    const entry = isArtifactName(base) ? entries.find((e) => e.name === base) : undefined;
    if (entry) return { kind: "digest", entry };
  }
  return { kind: "not_found" };
}

/** `sha256sum -c` input: two spaces between digest and name. */
export function digestLine(entry: MirrorEntry): string {
  return `${entry.sha256}  ${entry.name}\n`;
}

/** What `GET /` answers. */
export function listing(entries: readonly MirrorEntry[]): { name: string; sha256: string; size: number }[] {
  return entries.map(({ name, sha256, size }) => ({ name, sha256, size }));
}
