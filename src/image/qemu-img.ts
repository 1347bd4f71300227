// qemu-img info: the argv, the parser for its JSON, and the checks an image disk must pass.
import path from "node:path";
import { UsageError } from "../errors.js";
import type { Host } from "../host/host.js";
import { checkSelfContained, readDiskHeader } from "./disk-header.js";

export interface QemuImgInfo {
  format: string;
  virtualSize: number;
  /** As written in the image header (may be relative to the image's directory). */
  backingFilename?: string;
  /** Absolute, when qemu-img could work it out. */
  fullBackingFilename?: string;
  /** A qcow2's external data file (format-specific data), which qemu reads as the disk's contents. */
  dataFile?: string;
}

export interface QemuImgInfoOptions {
  /** `-U` (force-share) lets us read overlays that a running qemu holds locked. */
  forceShare?: boolean;
  /** `-f`: no format probing (a raw disk whose first bytes look like another format stays raw). */
  format?: "qcow2" | "raw";
}

export function qemuImgInfoArgv(file: string, opts: QemuImgInfoOptions = {}): string[] {
  return [
    "qemu-img",
    "info",
    ...(opts.forceShare ? ["-U"] : []),
    ...(opts.format ? ["-f", opts.format] : []),
    "--output=json",
    file,
  ];
}

export function parseQemuImgInfo(json: string): QemuImgInfo {
  const data = JSON.parse(json) as Record<string, unknown>;
  if (typeof data.format !== "string") throw new Error("qemu-img info: no format in its output");
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const specific = data["format-specific"] as { data?: Record<string, unknown> } | undefined;
  return {
    dataFile: str(specific?.data?.["data-file"]),
    format: data.format,
    virtualSize: Number(data["virtual-size"] ?? 0),
    backingFilename: str(data["backing-filename"]),
    fullBackingFilename: str(data["full-backing-filename"]),
  };
}

export async function qemuImgInfo(
  host: Host,
  file: string,
  opts: QemuImgInfoOptions = {},
): Promise<QemuImgInfo> {
  const r = await host.run(qemuImgInfoArgv(file, opts), { timeoutMs: 30_000 });
  return parseQemuImgInfo(r.stdout);
}

/** Where a backing file really is: qemu resolves a relative name against the overlay's directory. */
export function backingPath(overlay: string, info: QemuImgInfo): string | undefined {
  const name = info.fullBackingFilename ?? info.backingFilename;
  if (!name) return undefined;
  return path.resolve(path.dirname(overlay), name.replace(/^file:/, ""));
}

/** A base image must be self-contained qcow2 or raw: a backing file would point outside the store. */
export function checkBaseDisk(info: QemuImgInfo, what: string): "qcow2" | "raw" {
  if (info.format !== "qcow2" && info.format !== "raw") {
    throw new UsageError(`${what} is a ${info.format} image; lab takes qcow2 or raw`, {
      hint: `convert it first: qemu-img convert -O qcow2 ${what} disk.qcow2`,
    });
  }
  if (info.dataFile) {
    throw new UsageError(
      `${what} keeps its data in the external file ${info.dataFile}; lab takes self-contained images`,
      {
        hint: `copy it into one file first: qemu-img convert -O qcow2 ${what} flat.qcow2`,
      },
    );
  }
  if (info.backingFilename) {
    throw new UsageError(
      `${what} is a qcow2 overlay on ${info.backingFilename}; lab takes self-contained images`,
      {
        hint: `flatten it first: qemu-img convert -O qcow2 ${what} flat.qcow2`,
      },
    );
  }
  return info.format;
}

/**
 * Everything a base disk must pass, header first so that qemu-img never opens a file the image
 * names; then qemu-img, told the format, for what it finds beyond the header.
 */
export async function checkImageDisk(host: Host, file: string, what = file): Promise<"qcow2" | "raw"> {
  const header = await readDiskHeader(file);
  checkSelfContained(header, what);
  const format = checkBaseDisk(await qemuImgInfo(host, file, { format: header.format }), what);
  if (format !== header.format)
    throw new UsageError(`${what}: qemu-img reads it as ${format}, not ${header.format}`);
  return format;
}
