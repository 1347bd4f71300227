// lab image pull|import|list|rm|catalog

import { createRequire } from "node:module";
import type cliProgress from "cli-progress";
import type { CatalogEntry, Image } from "../../api/images.js";
import { labApi } from "../../client/api.js";
import type { ImageManifest } from "../../image/manifest.js";
import { formatSize, speedAndEta } from "../format.js";
import { allowMissing, type MissingOpts } from "../missing.js";
import {
  type OutputOpts,
  outputFormat,
  printJson,
  printKeyValues,
  printListing,
  printTable,
} from "../output.js";

interface ImageOpts extends OutputOpts {
  baseUrl?: string;
  release?: string;
  name?: string;
  json?: boolean;
}

export { formatSize };

interface ProgressView {
  onEvent: (e: Record<string, unknown>) => void;
  stop: () => void;
}

/** Loaded on first use: only a download on a terminal draws a bar. */
function newBar(): cliProgress.SingleBar {
  const bars = createRequire(import.meta.url)("cli-progress") as typeof cliProgress;
  return new bars.SingleBar(
    {
      stream: process.stderr,
      format: "  downloading [{bar}] {percentage}% | {done} of {size} {rate}",
      hideCursor: true,
    },
    bars.Presets.shades_classic,
  );
}

/** A bar on a terminal; on a pipe or log, a line per tenth of the download (or per 10 s). */
export function progressView(json: boolean): ProgressView | undefined {
  if (json) return undefined;
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = { at: 0, tenth: -1 };
  let startedAt: number | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent = (e: Record<string, unknown>) => {
    const bytes = Number(e.bytes ?? 0);
    const total = typeof e.total === "number" ? e.total : undefined;
    if (e.message !== "downloading" && e.message !== "uploading") {
      stop();
      if (typeof e.message === "string") process.stderr.write(`  ${e.message}\n`);
      return;
    }
    startedAt ??= Date.now();
    const rate = speedAndEta(bytes, total, startedAt);
    if (tty && total) {
      bar ??= newBar();
      if (!bar.isActive) bar.start(total, 0, { done: formatSize(0), size: formatSize(total), rate: "" });
      bar.update(bytes, { done: formatSize(bytes), rate: rate && `(${rate})` });
      return;
    }
    const tenth = total ? Math.floor((bytes / total) * 10) : -1;
    if (tenth === lastLine.tenth && Date.now() - lastLine.at < 10_000) return;
    lastLine = { at: Date.now(), tenth };
    const pct = total ? ` (${Math.floor((bytes / total) * 100)}%)` : "";
    process.stderr.write(
      `  ${e.message} ${formatSize(bytes)}${total ? ` of ${formatSize(total)}` : ""}${pct}${rate && `, ${rate}`}\n`,
    );
  };
  return { onEvent, stop };
}

function describeImage(i: { name: string; dir: string; sizeBytes: number; manifest: ImageManifest }): void {
  printKeyValues([
    ["version", i.manifest.version],
    ["format", i.manifest.format],
    ["size", formatSize(i.sizeBytes)],
    ["guest", i.manifest.guest],
    ["boot", i.manifest.boot ? "direct (kernel + initrd)" : "from disk"],
    ["dir", i.dir],
  ]);
}

export async function imagePullCommand(name: string, opts: ImageOpts): Promise<void> {
  const view = progressView(!!opts.json);
  let r: Awaited<ReturnType<ReturnType<typeof labApi>["images"]["pull"]>>;
  try {
    r = await labApi().images.pull(
      name,
      { baseUrl: opts.baseUrl ?? process.env.LAB_IMAGE_BASE_URL, version: opts.release },
      { onProgress: view?.onEvent },
    );
  } finally {
    view?.stop();
  }
  if (opts.json) return printJson(r);
  const v = r.manifest.version ?? "?";
  process.stdout.write(
    `image ${r.name}: ${r.changed ? `pulled release ${v}` : `release ${v} already there, nothing downloaded`}\n`,
  );
  describeImage(r);
}

export async function imageImportCommand(file: string, opts: ImageOpts): Promise<void> {
  const view = progressView(!!opts.json);
  let r: Awaited<ReturnType<ReturnType<typeof labApi>["images"]["import"]>>;
  try {
    r = await labApi().images.import(file, opts.name, { onProgress: view?.onEvent });
  } finally {
    view?.stop();
  }
  if (opts.json) return printJson(r);
  const what = r.changed ? "imported" : "already there (same version or same disk), nothing changed";
  process.stdout.write(`image ${r.name}: ${what}\n`);
  describeImage(r);
}

const IMAGE_HEAD = ["NAME", "VERSION", "FORMAT", "SIZE", "GUEST", "FLEET", "BOOT", "USED BY"];
const imageRow = (i: Image) =>
  i.problems
    ? [i.name, "-", "-", "-", "-", "-", "-", "BROKEN"]
    : [
        i.name,
        i.version,
        i.format,
        formatSize(i.sizeBytes),
        i.guest,
        i.fleet ? "yes" : "no",
        i.boot,
        i.usedBy.join(",") || "-",
      ];

export async function imageListCommand(opts: ImageOpts): Promise<void> {
  const list = await labApi().images.list();
  const format = outputFormat(opts);
  printListing(list, format, {
    name: (i) => i.name,
    table: (l) => printTable(IMAGE_HEAD, l.map(imageRow)),
    wide: (l) =>
      printTable(
        [...IMAGE_HEAD, "SOURCE", "IMPORTED", "DIR"],
        l.map((i) => [...imageRow(i), i.source?.channel ?? i.source?.kind ?? null, i.importedAt, i.dir]),
      ),
  });
  if (format !== "table" && format !== "wide") return;
  for (const i of list.filter((x) => x.problems)) {
    process.stderr.write(`image ${i.name}: ${i.problems!.join("; ")}\n  hint: lab image rm ${i.name}\n`);
  }
  if (list.length === 0)
    process.stderr.write(
      "add one with 'lab image pull flatcar-stable' or 'lab image import PATH --name NAME'\n",
    );
}

export async function imageRmCommand(name: string, opts: ImageOpts & MissingOpts): Promise<void> {
  const r = (await allowMissing(() => labApi().images.remove(name), opts)) ?? { removed: false, name };
  if (opts.json) return printJson(r);
  process.stdout.write(`image ${name}: ${r.removed ? "removed" : "not there, nothing to do"}\n`);
}

export async function imageCatalogCommand(opts: ImageOpts): Promise<void> {
  const list = await labApi().images.catalog();
  const row = (e: CatalogEntry) => [e.name, e.channel, e.installed ?? "-", e.description];
  printListing(list, outputFormat(opts), {
    name: (e) => e.name,
    table: (l) => printTable(["NAME", "CHANNEL", "PULLED", "DESCRIPTION"], l.map(row)),
    wide: (l) =>
      printTable(
        ["NAME", "CHANNEL", "PULLED", "DESCRIPTION", "FORMAT", "GUEST", "FLEET", "BASE URL"],
        l.map((e) => [...row(e), e.format, e.guest, e.fleet ? "yes" : "no", e.baseUrl]),
      ),
  });
}
