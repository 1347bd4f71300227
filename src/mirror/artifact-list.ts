// Artifact lists: units/<SET>.artifacts.yaml names every file a set of units needs from the
// mirror, each with its URL and either a pinned sha256 or the URL of the digest file its project
// publishes beside it. `lab mirror add --for SET` adds them all. Parsing and validation only;
// nothing here touches the network.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DownloadError, NotFoundError, UsageError } from "../errors.js";
import { type FieldProblem, formatFieldPath, issueProblems, problemsError } from "../field-problems.js";
import { parseYamlData } from "../yaml-data.js";
import { isArtifactName } from "./names.js";

export const ARTIFACT_LIST_SUFFIX = ".artifacts.yaml";

export interface ArtifactListEntry {
  /** Mirror artifact name (validateArtifactName rules). */
  name: string;
  /** http or https. */
  url: string;
  /** Pinned digest, lower-case hex. Exactly one of sha256 and sha256Url is set. */
  sha256?: string;
  /** Where the project publishes the file's digest (`sha256sum` output, or the bare hex). */
  sha256Url?: string;
  /** The publisher gives no digest: lab computes it at the first download and records it. */
  trustFirstUse?: boolean;
  /** The artifact is this member of the downloaded .tar.gz, not the download itself. */
  member?: string;
  description?: string;
}

export interface ArtifactList {
  /** Label used in messages: the path relative to the working directory when it is below it. */
  source: string;
  artifacts: ArtifactListEntry[];
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** "required" for a missing key, `expected` for a value of the wrong type. */
const typeError = (expected: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? "required" : expected;

const httpUrl = z.string({ error: typeError("expected an http:// or https:// URL") }).refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  },
  { error: "expected an http:// or https:// URL" },
);

const EntrySchema = z
  .strictObject({
    name: z.string({ error: typeError("expected an artifact name") }).refine(isArtifactName, {
      error:
        "not a valid artifact name: letters, digits, '.', '_' and '-' (at most 128, not starting with '.', not index.json)",
    }),
    url: httpUrl,
    sha256: z
      .string({ error: typeError("expected 64 hex digits") })
      .regex(HEX64, { error: "expected 64 hex digits (the output of sha256sum, without the file name)" })
      .optional(),
    sha256_url: httpUrl.optional(),
    trust: z.literal("first-use", { error: 'the only value is "first-use"' }).optional(),
    member: z
      .string({ error: typeError("expected a path inside the archive") })
      .refine(isMemberPath, { error: "expected a relative path inside the archive, without '..'" })
      .optional(),
    description: z.string({ error: typeError("expected a string") }).optional(),
  })
  .superRefine((a, ctx) => {
    const given = [a.sha256, a.sha256_url, a.trust].filter((x) => x !== undefined).length;
    if (given > 1)
      ctx.addIssue({
        code: "custom",
        path: [a.sha256_url !== undefined ? "sha256_url" : "trust"],
        message: "give only one of sha256, sha256_url or trust",
      });
    else if (given === 0)
      ctx.addIssue({
        code: "custom",
        path: ["sha256"],
        message:
          'give sha256 (a pinned digest), sha256_url (the digest file published beside the file) or, where the publisher gives none, trust: "first-use"',
      });
  });

/** A member of a tar archive: relative, no '..' part, no odd characters. */
export function isMemberPath(p: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,255}$/.test(p) && !p.split("/").includes("..") && !p.endsWith("/");
}

const ListSchema = z.strictObject({
  artifacts: z
    .array(EntrySchema, { error: typeError("expected a list of artifacts") })
    .min(1, { error: "list at least one artifact" }),
});

const HINT =
  "each entry of 'artifacts' has name, url, and one of sha256, sha256_url or trust: first-use (member and description are optional)";

/** Parses and validates the text of an artifact list. Pure: `source` only labels messages. */
export function parseArtifactList(text: string, source: string): ArtifactList {
  const data = parseYamlData(text, source, HINT);
  if (data === undefined || data === null)
    throw new UsageError(`${source}: the file is empty`, { hint: HINT });
  if (typeof data !== "object" || Array.isArray(data))
    throw new UsageError(`${source}: expected a mapping with an 'artifacts' list`, { hint: HINT });
  const parsed = ListSchema.safeParse(data);
  if (!parsed.success) throw problemsError(source, parsed.error.issues.flatMap(issueProblems), HINT);

  const problems: FieldProblem[] = [];
  const first = new Map<string, number>();
  parsed.data.artifacts.forEach((a, i) => {
    const seen = first.get(a.name);
    if (seen === undefined) first.set(a.name, i);
    else
      problems.push({
        path: formatFieldPath(["artifacts", i, "name"]),
        message: `duplicate name ${JSON.stringify(a.name)} (also artifacts[${seen}])`,
      });
  });
  if (problems.length > 0) throw problemsError(source, problems, HINT);

  return {
    source,
    artifacts: parsed.data.artifacts.map((a) => ({
      name: a.name,
      url: new URL(a.url).href,
      ...(a.sha256 !== undefined ? { sha256: a.sha256.toLowerCase() } : {}),
      ...(a.sha256_url !== undefined ? { sha256Url: new URL(a.sha256_url).href } : {}),
      ...(a.trust !== undefined ? { trustFirstUse: true } : {}),
      ...(a.member !== undefined ? { member: a.member } : {}),
      ...(a.description !== undefined ? { description: a.description } : {}),
    })),
  };
}

/**
 * The digest in a published digest file: the first token, as `sha256sum` prints it ("HEX  file")
 * or the bare hex. A file listing several files (SHA256SUMS) gives the line naming `fileName`
 * (sha256sum's "HEX  NAME" or "HEX *NAME"); without one that names it, nothing is guessed.
 */
export function parsePublishedDigest(text: string, url: string, fileName?: string): string {
  let lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const hint = "sha256_url must name the digest file of this one file (its content: the hex digest)";
  if (lines.length === 0) throw new DownloadError(`the published digest ${url} is empty`, { hint });
  if (lines.length > 1 && fileName !== undefined) {
    const named = lines.filter(
      (l) => l.split(/\s+/)[1]?.replace(/^\*/, "").replace(/^\.\//, "") === fileName,
    );
    if (named.length !== 1)
      throw new DownloadError(
        `the published digests ${url} list ${fileName} ${named.length} times, expected once`,
        {
          hint: "sha256_url must be the digest file of the release that holds this file",
        },
      );
    lines = named;
  }
  if (lines.length > 1)
    throw new DownloadError(`the published digest ${url} has ${lines.length} lines, expected one`, { hint });
  const token = lines[0]!.split(/\s+/)[0]!;
  if (!HEX64.test(token)) {
    const shown = token.length > 80 ? `${token.slice(0, 80)}...` : token;
    throw new DownloadError(`the published digest ${url} is not a sha256: ${JSON.stringify(shown)}`, {
      hint,
    });
  }
  return token.toLowerCase();
}

/** How a file is named in messages: relative to the working directory when it is below it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** The sets in a units directory: the files named SET.artifacts.yaml. */
export async function listArtifactSets(unitsDir: string): Promise<string[]> {
  const files = await readdir(unitsDir).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith(ARTIFACT_LIST_SUFFIX) && f.length > ARTIFACT_LIST_SUFFIX.length)
    .map((f) => f.slice(0, -ARTIFACT_LIST_SUFFIX.length))
    .sort();
}

/** Reads and validates `<unitsDir>/<set>.artifacts.yaml`. */
export async function loadArtifactSet(set: string, unitsDir: string): Promise<ArtifactList> {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(set) || set.includes(".."))
    throw new UsageError(`invalid artifact set name ${JSON.stringify(set)}`, {
      hint: `a set is the name of a file SET${ARTIFACT_LIST_SUFFIX} in the units directory, e.g. kubernetes`,
    });
  const file = path.join(unitsDir, `${set}${ARTIFACT_LIST_SUFFIX}`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw new UsageError(`cannot read ${displayPath(file)}: ${(err as Error).message}`);
    const sets = await listArtifactSets(unitsDir);
    throw new NotFoundError(`no artifact list for ${set}: ${displayPath(file)} does not exist`, {
      hint:
        sets.length > 0
          ? `sets in ${displayPath(unitsDir)}: ${sets.join(", ")}`
          : `there is no *${ARTIFACT_LIST_SUFFIX} in ${displayPath(unitsDir)}; pass another with --units-dir`,
    });
  }
  return parseArtifactList(text, displayPath(file));
}
