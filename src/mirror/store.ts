// The mirror store: $LAB_HOME/mirror/<name> files named by index.json. Artifacts arrive in a temp
// file beside them, are checked against their sha256 and only then renamed in, so a failed or
// mismatched add keeps nothing. The same name and digest again is a no-op; two adds of one name
// at the same time share one download.
import { chmod, lstat, rm } from "node:fs/promises";
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import { fsyncPath, renameDurably, SingleFlight } from "../state/atomic.js";
import { MutexMap } from "../state/mutex.js";
import { type MirrorEntry, readMirrorIndex, writeMirrorIndex } from "./index-file.js";
import { validateArtifactName } from "./names.js";

export interface ArtifactResult {
  entry: MirrorEntry;
  /** false when the artifact was already there with that digest: nothing was downloaded or copied. */
  changed: boolean;
}

export interface ArtifactStatus extends MirrorEntry {
  /** Set when the file is missing or its size differs from the index. */
  problem?: string;
}

const transfers = new SingleFlight<ArtifactResult>();
const indexLocks = new MutexMap();
const indexLock = (ctx: LabContext) => indexLocks.get(ctx.paths.mirror.index);

/**
 * Runs `work` for one artifact name at a time. A caller that wants the digest already being
 * fetched joins that run (and its progress); any other waits for it and then runs its own.
 */
export async function oncePerName(
  ctx: LabContext,
  name: string,
  sha256: string | undefined,
  work: (ctx: LabContext) => Promise<ArtifactResult>,
): Promise<ArtifactResult> {
  const key = `${ctx.paths.mirror.index}\0${name}`;
  for (let running = transfers.running(key); running; running = transfers.running(key)) {
    if (sha256 !== undefined && running.tag === sha256) {
      const joined = transfers.join(key, ctx.progress) ?? running.promise;
      ctx.progress?.(`joining the transfer of ${name} already under way`);
      return joined;
    }
    await running.promise.catch(() => undefined);
  }
  return transfers.start(key, (progress) => work({ ...ctx, progress }), {
    progress: ctx.progress,
    tag: sha256,
  });
}

export async function findArtifact(ctx: LabContext, name: string): Promise<MirrorEntry | undefined> {
  return (await readMirrorIndex(ctx.paths.mirror.index)).find((e) => e.name === name);
}

/** The same digest is a no-op; another digest under that name is refused, never swapped silently. */
export function sameOrConflict(existing: MirrorEntry, sha256: string): ArtifactResult {
  if (existing.sha256 === sha256) return { entry: existing, changed: false };
  throw new ConflictError(
    `the mirror already has ${existing.name} with another sha256: ${existing.sha256} (asked: ${sha256})`,
    {
      hint: `VMs may have its digest baked into their cloud-config; 'lab mirror rm ${existing.name}' first to replace it`,
      details: { have: existing.sha256, wanted: sha256 },
    },
  );
}

/** Moves a verified temp file in as `entry.name` and records it in the index. */
export async function commitArtifact(
  ctx: LabContext,
  temp: string,
  entry: MirrorEntry,
): Promise<ArtifactResult> {
  await fsyncPath(temp);
  await chmod(temp, 0o644);
  return indexLock(ctx).run(async () => {
    const entries = await readMirrorIndex(ctx.paths.mirror.index);
    const existing = entries.find((e) => e.name === entry.name);
    if (existing) return sameOrConflict(existing, entry.sha256);
    // File first, index second: a crash in between leaves a file nobody serves, never an entry without bytes.
    await renameDurably(temp, ctx.paths.mirror.artifact(entry.name));
    await writeMirrorIndex(ctx.paths.mirror.index, [...entries, entry]);
    ctx.events.emit("mirror.added", { artifact: entry.name, sha256: entry.sha256, source: entry.source });
    return { entry, changed: true };
  });
}

export async function removeArtifact(
  ctx: LabContext,
  rawName: string,
): Promise<{ removed: boolean; name: string }> {
  const name = validateArtifactName(rawName);
  return indexLock(ctx).run(async () => {
    const entries = await readMirrorIndex(ctx.paths.mirror.index);
    const rest = entries.filter((e) => e.name !== name);
    if (rest.length === entries.length) return { removed: false, name };
    // Index first: from this moment the server no longer offers the file it is about to lose.
    await writeMirrorIndex(ctx.paths.mirror.index, rest);
    await rm(ctx.paths.mirror.artifact(name), { force: true });
    ctx.events.emit("mirror.removed", { artifact: name });
    return { removed: true, name };
  });
}

export async function listArtifacts(ctx: LabContext): Promise<ArtifactStatus[]> {
  const entries = await readMirrorIndex(ctx.paths.mirror.index);
  return Promise.all(
    entries.map(async (e) => {
      const s = await lstat(ctx.paths.mirror.artifact(e.name)).catch(() => undefined);
      if (!s?.isFile()) return { ...e, problem: "file missing" };
      if (s.size !== e.size) return { ...e, problem: `size ${s.size}, index says ${e.size}` };
      return e;
    }),
  );
}
