// One home for writing files so that a reader (or a crash) sees the old content or the new, never
// half: temp entries beside their final place, fsync, rename, a directory swap, and single-flight
// for work that callers asking at the same moment must share rather than repeat.
import { randomBytes } from "node:crypto";
import { open, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { isAlive } from "../host/proc.js";

export const TEMP_PREFIX = ".tmp-";

/**
 * Temp files and directories named ".tmp-<pid>-<random>-<label>" in one directory. Those of a
 * dead process (or forgotten by this one) are stale and removed by the next operation; those this
 * process is writing right now never are.
 */
export class TempArea {
  private active = new Set<string>();

  constructor(readonly dir: string) {}

  /** A fresh temp path in the area, marked in use until `release`. */
  claim(label: string): string {
    const p = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}-${label}`);
    this.active.add(p);
    return p;
  }

  async release(p: string): Promise<void> {
    await rm(p, { recursive: true, force: true });
    this.active.delete(p);
  }

  /** The entry was renamed into its final place: nothing to remove, no longer ours. */
  forget(p: string): void {
    this.active.delete(p);
  }

  /** Removes stale temp entries; returns their names. */
  async cleanStale(): Promise<string[]> {
    const removed: string[] = [];
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (!n.startsWith(TEMP_PREFIX)) continue;
      const full = path.join(this.dir, n);
      const pid = Number(/^\.tmp-(\d+)-/.exec(n)?.[1]);
      // A pid alone is not proof (zombies, reuse): isAlive reads the process state.
      const stale = !Number.isInteger(pid) || (pid === process.pid ? !this.active.has(full) : !isAlive(pid));
      if (!stale) continue;
      await rm(full, { recursive: true, force: true });
      removed.push(n);
    }
    return removed;
  }
}

const areas = new Map<string, TempArea>();

/** The one TempArea of `dir` in this process, so every writer there shares its "in use" marks. */
export function tempArea(dir: string): TempArea {
  const key = path.resolve(dir);
  let area = areas.get(key);
  if (!area) {
    area = new TempArea(key);
    areas.set(key, area);
  }
  return area;
}

export async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Replaces `file` atomically (temp sibling, fsync, rename): readers see old or new content. */
export async function writeFileDurably(file: string, content: string, mode = 0o644): Promise<void> {
  await writeFileAtomic(file, content, { fsync: true, mode });
}

/** Writes atomically when the content differs; returns whether it changed. */
export async function writeIfChanged(file: string, content: string, mode = 0o644): Promise<boolean> {
  if ((await readText(file)) === content) return false;
  await writeFileDurably(file, content, mode);
  return true;
}

/** A new file, synced to disk; fails if it exists. Meant for files inside a fresh temp directory. */
export async function writeNewFile(file: string, content: string, mode: number): Promise<void> {
  const handle = await open(file, "wx", mode);
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a file or a directory (the latter makes renames and creations in it durable). */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames `from` over `to` and syncs the directory, so the rename survives a crash. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncPath(path.dirname(to));
}

/**
 * Puts the directory `staging` in place of `target` (if any). A directory cannot be renamed over a
 * non-empty one and Node has no exchange rename, so the old one moves aside first: in between,
 * `target` is briefly absent, never half there. On failure the old one is put back.
 */
export async function swapDirectory(staging: string, target: string): Promise<void> {
  const area = tempArea(path.dirname(target));
  const old = area.claim(`old-${path.basename(target)}`);
  try {
    const hadOld = await rename(target, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return false;
        throw err;
      },
    );
    try {
      await rename(staging, target);
    } catch (err) {
      if (hadOld) await rename(old, target).catch(() => undefined);
      throw err;
    }
    await fsyncPath(path.dirname(target));
    if (hadOld) await area.release(old);
  } finally {
    // On failure the old one was renamed back (or is left for the next cleanup).
    area.forget(old);
    area.forget(staging);
  }
}

export type Progress = (message: string, data?: Record<string, unknown>) => void;

interface Flight<T> {
  promise: Promise<T>;
  tag?: string;
  listeners: Set<Progress>;
}

/**
 * At most one run of some work per key: callers asking while it runs join that run (and receive
 * its progress) instead of starting another. With `keepResults`, a run that succeeded answers
 * every later caller too; a failed run is forgotten, so the next caller tries again.
 */
export class SingleFlight<T> {
  private flights = new Map<string, Flight<T>>();

  constructor(private readonly opts: { keepResults?: boolean } = {}) {}

  /** The run under way for `key` (with the tag it was started with), if any. */
  running(key: string): { promise: Promise<T>; tag?: string } | undefined {
    return this.flights.get(key);
  }

  /** Joins the run under way for `key`, forwarding its progress to `progress`; undefined if none. */
  join(key: string, progress?: Progress): Promise<T> | undefined {
    const flight = this.flights.get(key);
    if (flight && progress) flight.listeners.add(progress);
    return flight?.promise;
  }

  /** Starts `work` for `key`; what it reports goes to `progress` and to every caller that joins. */
  start(
    key: string,
    work: (progress: Progress) => Promise<T>,
    opts: { progress?: Progress; tag?: string } = {},
  ) {
    const listeners = new Set<Progress>(opts.progress ? [opts.progress] : []);
    const fanOut: Progress = (message, data) => {
      for (const l of listeners) l(message, data);
    };
    const forget = () => {
      if (this.flights.get(key)?.promise === promise) this.flights.delete(key);
    };
    const promise: Promise<T> = work(fanOut).then(
      (value) => {
        if (!this.opts.keepResults) forget();
        return value;
      },
      (err: unknown) => {
        forget();
        throw err;
      },
    );
    this.flights.set(key, { promise, tag: opts.tag, listeners });
    return promise;
  }

  /** Joins the run under way for `key` or starts one. */
  run(key: string, work: (progress: Progress) => Promise<T>, progress?: Progress): Promise<T> {
    return this.join(key, progress) ?? this.start(key, work, { progress });
  }
}
