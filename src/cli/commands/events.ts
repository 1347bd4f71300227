// lab events [-f] [--json]
import { readFile } from "node:fs/promises";
import type { Event as LabEvent } from "../../api/daemon.js";
import { labApi } from "../../client/api.js";
import { labDirs, paths } from "../../state/paths.js";

function show(e: LabEvent, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(e)}\n`);
    return;
  }
  const { time, type, ...rest } = e;
  const details = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  process.stdout.write(`${time}  ${type.padEnd(22)} ${details}\n`);
}

export async function eventsCommand(opts: { follow?: boolean; json?: boolean }): Promise<void> {
  const api = labApi();
  if (opts.follow) await api.daemon.status();
  const text = await readFile(paths(labDirs()).events, "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      show(JSON.parse(line) as LabEvent, !!opts.json);
    } catch {
      // A line cut short by a crash is skipped; the rest of the log is still valid.
    }
  }
  if (opts.follow) await api.daemon.events((e) => show(e, !!opts.json));
}
