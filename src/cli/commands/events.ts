// lab events [--no-follow] [--since WHEN] [-n N] [--type T] [--vm NAME] [--json]
import { readFile } from "node:fs/promises";
import type { Event as LabEvent } from "../../api/daemon.js";
import { labApi } from "../../client/api.js";
import { labDirs, paths } from "../../state/paths.js";
import { escapeControl } from "../escape.js";
import { type EventsOpts, eventFilter, historyEvents } from "../events-filter.js";

function show(e: LabEvent, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(e)}\n`);
    return;
  }
  const { time, type, ...rest } = e;
  const details = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  process.stdout.write(escapeControl(`${time}  ${type.padEnd(22)} ${details}`).concat("\n"));
}

export async function eventsCommand(opts: EventsOpts): Promise<void> {
  const filter = eventFilter(opts);
  const follow = opts.follow !== false;
  const api = labApi();
  if (follow) await api.daemon.status();
  const text = await readFile(paths(labDirs()).events, "utf8").catch(() => "");
  for (const e of historyEvents(text, filter)) show(e, !!opts.json);
  if (follow)
    await api.daemon.events((e) => {
      if (filter.matches(e as LabEvent)) show(e as LabEvent, !!opts.json);
    });
}
