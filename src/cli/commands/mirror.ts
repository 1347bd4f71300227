// lab mirror add|import|list|rm
import path from "node:path";
import { LabClient } from "../../client/client.js";
import type { ArtifactResult, ArtifactStatus } from "../../mirror/store.js";
import { printJson, printKeyValues, printTable } from "../output.js";
import { formatSize, progressView } from "./image.js";

interface MirrorOpts {
  sha256?: string;
  json?: boolean;
}

interface MirrorStatus {
  port?: number;
  listeners: { network: string; url: string }[];
  artifacts: ArtifactStatus[];
}

async function store(body: Record<string, unknown>, opts: MirrorOpts): Promise<void> {
  const view = progressView(!!opts.json);
  let r: ArtifactResult;
  try {
    r = await new LabClient().call<ArtifactResult>("POST", "/v1/mirror/artifacts", body, {
      onProgress: view?.onEvent,
    });
  } finally {
    view?.stop();
  }
  if (opts.json) return printJson(r);
  const what = r.changed ? "added" : "already there with that sha256, nothing transferred";
  process.stdout.write(`mirror ${r.entry.name}: ${what}\n`);
  printKeyValues([
    ["sha256", r.entry.sha256],
    ["size", formatSize(r.entry.size)],
    ["source", r.entry.source],
  ]);
}

export async function mirrorAddCommand(name: string, url: string, opts: MirrorOpts): Promise<void> {
  await store({ name, url, sha256: opts.sha256 }, opts);
}

export async function mirrorImportCommand(name: string, file: string, opts: MirrorOpts): Promise<void> {
  await store({ name, path: path.resolve(file), sha256: opts.sha256 }, opts);
}

export async function mirrorListCommand(opts: MirrorOpts): Promise<void> {
  const s = await new LabClient().call<MirrorStatus>("GET", "/v1/mirror");
  if (opts.json) return printJson(s);
  printTable(
    ["NAME", "SIZE", "SHA256", "SOURCE", "ADDED"],
    s.artifacts.map((a) => [a.name, formatSize(a.size), a.sha256, a.source, a.addedAt]),
  );
  for (const a of s.artifacts.filter((x) => x.problem)) {
    process.stderr.write(
      `mirror ${a.name}: ${a.problem}\n  hint: lab mirror rm ${a.name}, then add it again\n`,
    );
  }
  for (const l of s.listeners) process.stdout.write(`served on network ${l.network} at ${l.url}\n`);
  if (s.listeners.length === 0) process.stdout.write("not served yet: no lab network is up ('lab net up')\n");
}

export async function mirrorRmCommand(name: string, opts: MirrorOpts): Promise<void> {
  const r = await new LabClient().call<{ removed: boolean; name: string }>(
    "DELETE",
    `/v1/mirror/artifacts/${encodeURIComponent(name)}`,
  );
  if (opts.json) return printJson(r);
  process.stdout.write(`mirror ${name}: ${r.removed ? "removed" : "not there, nothing to do"}\n`);
}
