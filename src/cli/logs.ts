// `lab vm logs NAME [-n N] [--since WHEN] [-t] [-f] [--raw]`: the serial console log, with control
// characters escaped (src/cli/escape.ts) unless --raw. Line times come from the marks labd keeps
// beside each log (src/vm/log-times.ts); lines logged before any mark have no known time.
import { open } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { readTimes, type TimeMark } from "../vm/log-times.js";
import { escapeControl } from "./escape.js";

export interface LogsOpts {
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  raw?: boolean;
}

export interface LogLine {
  text: string;
  /** ISO time, or null when the line is older than labd's first mark. */
  time: string | null;
}

/** --since: a duration back from now (90s, 10m, 2h, 1d) or an ISO date/time. */
export function parseSince(value: string, now = Date.now()): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (m) return now - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"] * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new UsageError(
      `--since takes a duration (10m, 2h) or a date and time, got ${JSON.stringify(value)}`,
      {
        hint: "e.g. --since 10m or --since 2026-01-02T15:04:05Z",
      },
    );
  return t;
}

export function parseTail(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`--tail takes a number of lines, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Bad -n or --since is a usage error before anything is asked of labd. */
export function checkLogsOpts(opts: LogsOpts): void {
  parseTail(opts.tail);
  if (opts.since !== undefined) parseSince(opts.since);
}

/** Splits the log into lines with their times; `end` is the byte length of `bytes` read. */
export function datedLines(bytes: Buffer, marks: TimeMark[], fallback: string | null): LogLine[] {
  const out: LogLine[] = [];
  let start = 0;
  let m = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(10, start);
    const end = nl === -1 ? bytes.length : nl + 1;
    while (m < marks.length && marks[m]!.size < end) m++;
    const time = m < marks.length ? marks[m]!.time : fallback;
    out.push({ text: bytes.subarray(start, end).toString("utf8"), time });
    start = end;
  }
  return out;
}

/** Which lines to print: those since a time (lines of unknown time are older), then the last N. */
export function selectLines(lines: LogLine[], sinceMs?: number, tail?: number): LogLine[] {
  let out =
    sinceMs === undefined ? lines : lines.filter((l) => l.time !== null && Date.parse(l.time) >= sinceMs);
  if (tail !== undefined) out = tail === 0 ? [] : out.slice(-tail);
  return out;
}

export function formatLine(l: LogLine, opts: LogsOpts): string {
  const text = opts.raw ? l.text : escapeControl(l.text);
  return opts.timestamps ? `${l.time ?? "-".padEnd(24)} ${text}` : text;
}

/** Prints the log once, then (with --follow) what is appended, until interrupted. */
export async function printLogs(
  file: string,
  opts: LogsOpts,
  write = (s: string) => process.stdout.write(s),
) {
  const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since);
  const tail = parseTail(opts.tail);
  const handle = await open(file, "r").catch(() => undefined);
  let position = 0;
  if (handle) {
    const bytes = await handle.readFile();
    await handle.close();
    // Whatever is not a whole line yet is printed with what follows.
    const whole = opts.follow ? bytes.subarray(0, bytes.lastIndexOf(10) + 1) : bytes;
    position = whole.length;
    const marks = opts.timestamps || sinceMs !== undefined ? await readTimes(file) : [];
    const lines = datedLines(whole, marks, new Date().toISOString());
    for (const l of selectLines(lines, sinceMs, tail)) write(formatLine(l, opts));
  } else if (!opts.follow) {
    process.stderr.write(`no console output yet (${file})\n`);
    return;
  }
  if (!opts.follow) return;
  let pending = Buffer.alloc(0);
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const h = await open(file, "r").catch(() => undefined);
    if (!h) continue;
    const buf = Buffer.alloc(64 * 1024);
    try {
      for (;;) {
        const { bytesRead } = await h.read(buf, 0, buf.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        pending = Buffer.concat([pending, buf.subarray(0, bytesRead)]);
      }
    } finally {
      await h.close();
    }
    const cut = pending.lastIndexOf(10) + 1;
    if (cut === 0) continue;
    const now = new Date().toISOString();
    for (const l of datedLines(pending.subarray(0, cut), [], now)) write(formatLine(l, opts));
    pending = pending.subarray(cut);
  }
}
