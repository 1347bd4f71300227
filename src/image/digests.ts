// Parsers for what a Flatcar release directory publishes beside its images: the Gentoo-style
// `<file>.DIGESTS` files and `version.txt`.
//
// A DIGESTS file (written by flatcar/scripts `create_digests` / `make_digests`) is blocks of
//   # MD5 HASH
//   <hex>  <file name>
//   # SHA1 HASH
//   ...
//   # SHA512 HASH
//   <hex>  <file name>
// and `<file>.DIGESTS.asc` is the same text clearsigned with OpenPGP; both parse here.

export type DigestAlgorithm = "md5" | "sha1" | "sha256" | "sha512";

export interface DigestEntry {
  algorithm: DigestAlgorithm;
  hex: string;
  file: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const BY_LENGTH = new Map(Object.entries(HEX_LENGTH).map(([a, n]) => [n, a as DigestAlgorithm]));

/** Strips OpenPGP clearsign armour, keeping only the signed text. */
function signedText(lines: string[]): string[] {
  const begin = lines.findIndex((l) => l.trim() === "-----BEGIN PGP SIGNED MESSAGE-----");
  if (begin < 0) return lines;
  const body = lines.slice(begin + 1);
  const blank = body.findIndex((l) => l.trim() === ""); // armour headers ("Hash: ...") end here
  const end = body.findIndex((l) => l.trim() === "-----BEGIN PGP SIGNATURE-----");
  return body.slice(blank + 1, end < 0 ? undefined : end).map((l) => l.replace(/^- /, ""));
}

export function parseDigests(text: string): DigestEntry[] {
  const entries: DigestEntry[] = [];
  let current: DigestAlgorithm | undefined;
  for (const raw of signedText(text.split(/\r?\n/))) {
    const line = raw.trim();
    const header = /^#\s*(MD5|SHA1|SHA256|SHA512)\s+HASH\s*$/i.exec(line);
    if (header) {
      current = header[1]!.toLowerCase() as DigestAlgorithm;
      continue;
    }
    // sha512sum output: "<hex>  <name>", or "<hex> *<name>" in binary mode.
    const m = /^([0-9a-fA-F]+)\s+\*?(\S.*)$/.exec(line);
    if (!m) continue;
    const hex = m[1]!.toLowerCase();
    const algorithm = current ?? BY_LENGTH.get(hex.length);
    if (!algorithm || HEX_LENGTH[algorithm] !== hex.length) continue;
    entries.push({ algorithm, hex, file: m[2]!.trim() });
  }
  return entries;
}

/** The digest of one file; a DIGESTS file may list several, by base name. */
export function findDigest(
  entries: DigestEntry[],
  file: string,
  algorithm: DigestAlgorithm,
): string | undefined {
  const base = file.split("/").pop();
  return entries.find((e) => e.algorithm === algorithm && e.file.split("/").pop() === base)?.hex;
}

/** KEY=VALUE lines, values optionally quoted. */
export function parseVersionTxt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^"(.*)"$/, "$1");
  }
  return out;
}

/** Flatcar writes FLATCAR_VERSION (and _ID); releases from the CoreOS era wrote COREOS_VERSION. */
export function releaseVersion(text: string): string | undefined {
  const v = parseVersionTxt(text);
  const version = v.FLATCAR_VERSION || v.FLATCAR_VERSION_ID || v.COREOS_VERSION || v.COREOS_VERSION_ID;
  return version && /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(version) ? version : undefined;
}
