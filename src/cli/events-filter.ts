// Which events `lab events` prints: --type (exact, or a prefix ending in '.' or '.*': vm., vm.*),
// --vm NAME, --since WHEN, and -n N (the last N of the history). Without --since or -n, a live
// `lab events` prints only what happens from now on; --no-follow prints the whole history.
import { UsageError } from "../errors.js";
import type { LabEvent } from "../state/events.js";
import { parseSince, parseTail } from "./logs.js";

export interface EventsOpts {
  follow?: boolean;
  since?: string;
  tail?: string;
  type?: string[];
  vm?: string;
  json?: boolean;
}

export interface EventFilter {
  matches(e: LabEvent): boolean;
  sinceMs?: number;
  tail?: number;
  /** Whether to print history before following. */
  history: boolean;
}

function typeMatcher(types: string[]): (t: string) => boolean {
  for (const t of types)
    if (!/^[a-z_]+(\.[a-z_]*\*?)?$/.test(t))
      throw new UsageError(
        `--type takes an event type like vm.started or a group like vm.*, got ${JSON.stringify(t)}`,
      );
  const prefixes = types.map((t) => t.replace(/\*$/, ""));
  return (type) =>
    prefixes.some((p) => (p.endsWith(".") ? type.startsWith(p) : type === p || type.startsWith(`${p}.`)));
}

export function eventFilter(opts: EventsOpts): EventFilter {
  const types = opts.type ?? [];
  const typeOk = types.length > 0 ? typeMatcher(types) : () => true;
  const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since);
  const tail = parseTail(opts.tail);
  const matches = (e: LabEvent) =>
    typeOk(e.type) &&
    (opts.vm === undefined || e.vm === opts.vm) &&
    (sinceMs === undefined || Date.parse(e.time) >= sinceMs);
  const history = opts.follow === false || sinceMs !== undefined || tail !== undefined;
  return { matches, sinceMs, tail, history };
}

/** The history lines to print, oldest first. */
export function historyEvents(text: string, f: EventFilter): LabEvent[] {
  if (!f.history) return [];
  const out: LabEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LabEvent;
      if (f.matches(e)) out.push(e);
    } catch {
      // A line cut short by a crash is skipped; the rest of the log is still valid.
    }
  }
  return f.tail === undefined ? out : f.tail === 0 ? [] : out.slice(-f.tail);
}
