// Mirror artifact names and digests. A name becomes a file name in $LAB_HOME/mirror and a URL
// path on the lab network, so it is checked once, here, and nothing else trusts raw input.
import { UsageError } from "../errors.js";

/** Letters, digits, '.', '_' and '-'; no leading dot, so temp files and names never collide. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** The index lives beside the artifacts. */
export const RESERVED_NAMES: readonly string[] = ["index.json"];

export function isArtifactName(name: unknown): name is string {
  return (
    typeof name === "string" && NAME.test(name) && !name.includes("..") && !RESERVED_NAMES.includes(name)
  );
}

export function validateArtifactName(name: string): string {
  if (!isArtifactName(name)) {
    throw new UsageError(`invalid mirror artifact name ${JSON.stringify(name)}`, {
      hint: "use letters, digits, '.', '_' and '-' (at most 128, not starting with '.', not index.json)",
    });
  }
  return name;
}

export function isSha256(hex: unknown): hex is string {
  return typeof hex === "string" && /^[0-9a-f]{64}$/.test(hex);
}

/** Accepts upper case and a "sha256:" prefix; returns the bare lower-case hex. */
export function validateSha256(value: string): string {
  const hex = value
    .trim()
    .replace(/^sha256:/i, "")
    .toLowerCase();
  if (!isSha256(hex)) {
    throw new UsageError(`--sha256 must be 64 hex digits, got ${JSON.stringify(value)}`, {
      hint: "the output of 'sha256sum FILE', without the file name",
    });
  }
  return hex;
}
