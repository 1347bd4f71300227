// When each part of a serial log was written. qemu writes the logs itself, with no times, so labd
// looks at every log in the consoles directory once a second and appends "ISO-TIME SIZE" to
// NAME.log.times whenever the log grew. A line's time is that of the first entry whose size reaches
// the line's end: right to about a second while labd runs; what a guest logs while labd is down is
// dated when labd comes back. Read by `lab vm logs -t/--since` (src/cli/logs.ts).
import { appendFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";

export interface TimeMark {
  time: string;
  size: number;
}

export const timesFileOf = (serialLog: string) => `${serialLog}.times`;

export function parseTimes(text: string): TimeMark[] {
  const out: TimeMark[] = [];
  for (const line of text.split("\n")) {
    const [time, size] = line.split(" ");
    if (time && size && /^\d+$/.test(size)) out.push({ time, size: Number(size) });
  }
  return out;
}

export async function readTimes(serialLog: string): Promise<TimeMark[]> {
  return parseTimes(await readFile(timesFileOf(serialLog), "utf8").catch(() => ""));
}

/** One pass over the consoles directory; `known` remembers each log's last recorded size. */
export async function markLogTimes(dir: string, known: Map<string, number>, now = new Date()): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith(".log")) continue;
    const log = path.join(dir, name);
    const size = await stat(log).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) continue;
    let last = known.get(log);
    if (last === undefined) last = (await readTimes(log)).at(-1)?.size ?? 0;
    if (size === last) {
      known.set(log, size);
      continue;
    }
    const mark = `${now.toISOString()} ${size}\n`;
    // A log that shrank was removed and started again (vm destroy, then create).
    if (size < last) await writeFile(timesFileOf(log), mark);
    else await appendFile(timesFileOf(log), mark);
    known.set(log, size);
  }
}

/** Marks the logs every second until the returned function is called. */
export function startLogTimes(dir: string, everyMs = 1000): () => void {
  const known = new Map<string, number>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    markLogTimes(dir, known)
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
