// $LAB_HOME/mirror/index.json: what the mirror holds and serves. A file in the mirror directory
// that the index does not name is never served. Written atomically by the store only.
import { z } from "zod";
import { BrokenMirrorIndexError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";
import { readText, writeFileDurably } from "../state/atomic.js";
import { isArtifactName, isSha256 } from "./names.js";

export const MirrorEntry = z.object({
  name: z.string().refine(isArtifactName, { message: "not a valid artifact name" }),
  sha256: z.string().refine(isSha256, { message: "not a sha256 hex digest" }),
  size: z.number().int().nonnegative(),
  /** The URL it was downloaded from (with #MEMBER when taken out of an archive), or "import". */
  source: z.string(),
  /** The downloaded file, when it was an archive or trusted on first use: its digest and why trusted. */
  download: z
    .object({ sha256: z.string().refine(isSha256), trust: z.enum(["pinned", "published", "first-use"]) })
    .optional(),
  addedAt: z.string(),
});
export type MirrorEntry = z.infer<typeof MirrorEntry>;

const MirrorIndex = z.object({ version: z.literal(1), artifacts: z.array(z.unknown()) });

export interface ParsedIndex {
  entries: MirrorEntry[];
  /** Entries that did not validate (a hand-edited index); they are never served. */
  rejected: number;
}

/** Parses index.json text; an absent file is an empty mirror. Invalid entries are dropped, not trusted. */
export function parseMirrorIndex(text: string | undefined, where = "index.json"): ParsedIndex {
  if (text === undefined) return { entries: [], rejected: 0 };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw broken(where, (err as Error).message);
  }
  const index = MirrorIndex.safeParse(data);
  if (!index.success) throw broken(where, firstProblemText(index.error));
  const entries: MirrorEntry[] = [];
  const seen = new Set<string>();
  for (const raw of index.data.artifacts) {
    const e = MirrorEntry.safeParse(raw);
    if (e.success && !seen.has(e.data.name)) {
      seen.add(e.data.name);
      entries.push(e.data);
    }
  }
  return { entries, rejected: index.data.artifacts.length - entries.length };
}

function broken(where: string, why: string): BrokenMirrorIndexError {
  return new BrokenMirrorIndexError(`mirror index ${where} is unreadable: ${why}`, {
    hint: "fix or remove the file; the artifacts beside it stay, and 'lab mirror import' adds them again",
  });
}

export function renderMirrorIndex(entries: readonly MirrorEntry[]): string {
  const artifacts = [...entries].sort((a, b) => a.name.localeCompare(b.name));
  return `${JSON.stringify({ version: 1, artifacts }, null, 2)}\n`;
}

export async function readMirrorIndex(file: string): Promise<MirrorEntry[]> {
  return parseMirrorIndex(await readText(file), file).entries;
}

export async function writeMirrorIndex(file: string, entries: readonly MirrorEntry[]): Promise<void> {
  await writeFileDurably(file, renderMirrorIndex(entries));
}
