// lab mirror add|import|list|rm
import path from "node:path";
import type { Artifact, ArtifactAddRequest } from "../../api/mirror.js";
import { labApi } from "../../client/api.js";
import { errorFromShape, toLabError, UsageError } from "../../errors.js";
import type { ArtifactList, ArtifactListEntry } from "../../mirror/artifact-list.js";
import { repoRoot } from "../../state/repo.js";
import { type MissingOpts, missing } from "../missing.js";
import {
  type OutputOpts,
  outputFormat,
  printData,
  printJson,
  printKeyValues,
  printListing,
  printTable,
} from "../output.js";
import { formatSize, progressView } from "./image.js";

interface MirrorOpts extends OutputOpts {
  sha256?: string;
  json?: boolean;
  /** `add --for SET`: every artifact in <units-dir>/SET.artifacts.yaml. */
  for?: string;
  unitsDir?: string;
}

/** What `add --for` reports for each artifact (and prints as a JSON array with --json). */
export interface SetArtifactResult {
  name: string;
  url: string;
  sha256: string;
  status: "added" | "present";
}

/** An add by URL, or an import of a local file (uploaded). */
type MirrorBody = ArtifactAddRequest | { name: string; path: string; sha256?: string };

async function post(body: MirrorBody, opts: MirrorOpts) {
  const view = progressView(!!opts.json);
  const api = labApi();
  try {
    if ("path" in body && typeof body.path === "string")
      return await api.mirror.import(
        { name: body.name, file: body.path, sha256: body.sha256 },
        { onProgress: view?.onEvent },
      );
    return await api.mirror.add(body as ArtifactAddRequest, { onProgress: view?.onEvent });
  } finally {
    view?.stop();
  }
}

async function store(body: MirrorBody, opts: MirrorOpts): Promise<void> {
  const r = await post(body, opts);
  if (opts.json) return printJson(r);
  const what = r.changed ? "added" : "already there with that sha256, nothing transferred";
  process.stdout.write(`mirror ${r.entry.name}: ${what}\n`);
  printKeyValues([
    ["sha256", r.entry.sha256],
    ["size", formatSize(r.entry.size)],
    ["source", r.entry.source],
  ]);
}

/**
 * Adds the artifacts of a list one after another through `add`, stopping at the first that
 * fails: those before it stay, and the error names the one that failed.
 */
export async function addArtifactList(
  list: ArtifactList,
  add: (entry: ArtifactListEntry) => Promise<{ entry: { sha256: string }; changed: boolean }>,
  onDone?: (r: SetArtifactResult, entry: ArtifactListEntry) => void,
): Promise<SetArtifactResult[]> {
  const results: SetArtifactResult[] = [];
  for (const [i, entry] of list.artifacts.entries()) {
    let r: Awaited<ReturnType<typeof add>>;
    try {
      r = await add(entry);
    } catch (err) {
      const e = toLabError(err).toJSON();
      const kept = results.filter((x) => x.status === "added").length;
      throw errorFromShape({
        ...e,
        message: `${list.source}: artifact ${entry.name} (${i + 1} of ${list.artifacts.length}): ${e.message}`,
        hint: e.hint ?? `the ${kept} artifact(s) added before it stay; run the command again to continue`,
        details: { ...e.details, artifact: entry.name, done: results },
      });
    }
    const done: SetArtifactResult = {
      name: entry.name,
      url: entry.url,
      sha256: r.entry.sha256,
      status: r.changed ? "added" : "present",
    };
    results.push(done);
    onDone?.(done, entry);
  }
  return results;
}

async function addSet(set: string, opts: MirrorOpts): Promise<void> {
  const dir = path.resolve(opts.unitsDir ?? path.join(repoRoot(), "units"));
  // zod and YAML are loaded only by the commands that read an artifact list.
  const { loadArtifactSet } = await import("../../mirror/artifact-list.js");
  const list = await loadArtifactSet(set, dir);
  const results = await addArtifactList(
    list,
    (e) =>
      post(
        {
          name: e.name,
          url: e.url,
          ...(e.sha256
            ? { sha256: e.sha256 }
            : e.sha256Url
              ? { sha256Url: e.sha256Url }
              : { trustFirstUse: true }),
          ...(e.member ? { member: e.member } : {}),
        },
        opts,
      ),
    opts.json
      ? undefined
      : (r, e) =>
          process.stdout.write(
            `mirror ${r.name}: ${r.status === "added" ? "added" : "present with that sha256, nothing transferred"}${
              r.status === "added" && e.trustFirstUse
                ? `; trusted on first use (the publisher gives no digest): recorded sha256 ${r.sha256}`
                : ""
            }\n`,
          ),
  );
  if (opts.json) return printJson(results);
  const added = results.filter((r) => r.status === "added").length;
  process.stdout.write(`${set}: ${added} added, ${results.length - added} already present\n`);
}

export async function mirrorAddCommand(
  name: string | undefined,
  url: string | undefined,
  opts: MirrorOpts,
): Promise<void> {
  const usage = "lab mirror add NAME URL --sha256 HEX, or lab mirror add --for SET";
  if (opts.for !== undefined) {
    if (name !== undefined || url !== undefined || opts.sha256 !== undefined)
      throw new UsageError("--for takes no NAME, URL or --sha256: the list file gives them", { hint: usage });
    return addSet(opts.for, opts);
  }
  if (opts.unitsDir !== undefined) throw new UsageError("--units-dir goes with --for", { hint: usage });
  if (name === undefined || url === undefined)
    throw new UsageError("give NAME and URL, or --for SET", { hint: usage });
  if (opts.sha256 === undefined)
    throw new UsageError("--sha256 is required with NAME URL", {
      hint: "the output of 'sha256sum FILE', without the file name",
    });
  await store({ name, url, sha256: opts.sha256 }, opts);
}

export async function mirrorImportCommand(name: string, file: string, opts: MirrorOpts): Promise<void> {
  await store({ name, path: path.resolve(file), sha256: opts.sha256 }, opts);
}

export async function mirrorListCommand(opts: MirrorOpts): Promise<void> {
  const s = await labApi().mirror.status();
  const format = outputFormat(opts);
  // JSON and YAML give the whole Mirror object (where it is served, and its artifacts).
  if (format === "json" || format === "yaml") return printData(s, format);
  const row = (a: Artifact) => [a.name, formatSize(a.size), a.sha256, a.source, a.addedAt];
  printListing(s.artifacts, format, {
    name: (a) => a.name,
    table: (l) => printTable(["NAME", "SIZE", "SHA256", "SOURCE", "ADDED"], l.map(row)),
    wide: (l) =>
      printTable(
        ["NAME", "SIZE", "SHA256", "SOURCE", "ADDED", "TRUST", "PROBLEM"],
        l.map((a) => [...row(a), a.download?.trust ?? null, a.problem]),
      ),
  });
  if (format === "name") return;
  for (const a of s.artifacts.filter((x) => x.problem)) {
    process.stderr.write(
      `mirror ${a.name}: ${a.problem}\n  hint: lab mirror rm ${a.name}, then add it again\n`,
    );
  }
  for (const l of s.listeners) process.stdout.write(`served on network ${l.network} at ${l.url}\n`);
  if (s.listeners.length === 0) process.stdout.write("not served yet: no lab network is up ('lab net up')\n");
}

export async function mirrorRmCommand(name: string, opts: MirrorOpts & MissingOpts): Promise<void> {
  const r = await labApi().mirror.remove(name);
  if (!r.removed) missing("mirror", name, opts);
  if (opts.json) return printJson(r);
  process.stdout.write(`mirror ${name}: ${r.removed ? "removed" : "not there, nothing to do"}\n`);
}
