// The OpenStack "config-2" drive a VM reads its cloud-config from: a directory tree (shared over
// 9p) and an ISO 9660 image of it labelled config-2 (which CoreOS/Flatcar udev rules mount).
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host/host.js";

export interface ConfigDriveInput {
  uuid: string;
  name: string;
  hostname: string;
  userData: string;
  sshKeys: string[];
}

export interface ConfigDriveFile {
  /** Relative to the drive's root. */
  path: string;
  content: string;
}

/** The volume label CoreOS/Flatcar look for (and the 9p mount tag). */
export const CONFIG_DRIVE_LABEL = "config-2";
/** The last two parts are fixed by the OpenStack layout; coreos-cloudinit reads only "latest". */
export const USER_DATA_PATH = "openstack/latest/user_data";
export const META_DATA_PATH = "openstack/latest/meta_data.json";

// The drive carries ssh keys and possibly user-supplied secrets in write_files: owner only.
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Only the OpenStack metadata fields coreos-cloudinit reads (hostname, public_keys) plus identity. */
export function buildMetaData(input: ConfigDriveInput): Record<string, unknown> {
  const publicKeys: Record<string, string> = {};
  input.sshKeys.forEach((key, i) => {
    publicKeys[`lab-${i}`] = key;
  });
  return { uuid: input.uuid, name: input.name, hostname: input.hostname, public_keys: publicKeys };
}

export function buildConfigDriveFiles(input: ConfigDriveInput): ConfigDriveFile[] {
  return [
    { path: USER_DATA_PATH, content: input.userData },
    { path: META_DATA_PATH, content: `${JSON.stringify(buildMetaData(input), null, 2)}\n` },
  ];
}

/**
 * genisoimage (the tool OpenStack's nova builds config drives with): Rock Ridge and Joliet keep
 * `user_data`/`meta_data.json` spelled as is. It writes a drive in a few milliseconds, where
 * xorriso takes about 100 ms, which is most of a VM start's time on the host.
 */
export function buildIsoArgv(configDir: string, isoPath: string): string[] {
  return [
    "genisoimage",
    "-quiet",
    "-input-charset",
    "utf-8",
    "-V",
    CONFIG_DRIVE_LABEL,
    "-J",
    "-R",
    "-o",
    notAnOption(isoPath),
    notAnOption(configDir),
  ];
}

/** Replaces `configDir` with a freshly written drive tree, then (re)builds the ISO when asked. */
export async function writeConfigDrive(
  host: Host,
  configDir: string,
  isoPath: string | undefined,
  input: ConfigDriveInput,
): Promise<void> {
  await mkdir(path.dirname(configDir), { recursive: true });
  await removeLeftovers(configDir);
  const staging = tempSibling(configDir);
  try {
    await mkdir(staging, { mode: DIR_MODE });
    for (const file of buildConfigDriveFiles(input)) {
      await writeDurably(path.join(staging, file.path), file.content);
    }
    await swapDirectory(staging, configDir);
    await syncDirectory(path.dirname(configDir));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (isoPath !== undefined) await writeIso(host, configDir, isoPath);
}

async function writeIso(host: Host, configDir: string, isoPath: string): Promise<void> {
  await removeLeftovers(isoPath);
  const temp = tempSibling(isoPath);
  try {
    await host.run(buildIsoArgv(configDir, temp));
    const handle = await open(temp, "r+");
    try {
      await handle.chmod(FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, isoPath);
    await syncDirectory(path.dirname(isoPath));
  } finally {
    await rm(temp, { force: true });
  }
}

/** A directory cannot be renamed over a non-empty one: move the old one aside first. */
async function swapDirectory(staging: string, target: string): Promise<void> {
  const old = tempSibling(target);
  let moved = false;
  try {
    await rename(target, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  try {
    await rename(staging, target);
  } catch (err) {
    if (moved) await rename(old, target);
    throw err;
  }
  if (moved) await rm(old, { recursive: true, force: true });
}

async function writeDurably(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
  const handle = await open(file, "wx", FILE_MODE);
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const TEMP_MARK = ".lab-tmp-";

function tempSibling(target: string): string {
  return `${target}${TEMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Temp files and directories left by a crash in the middle of a previous write. */
async function removeLeftovers(target: string): Promise<void> {
  const dir = path.dirname(target);
  const prefix = path.basename(target) + TEMP_MARK;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries.filter((e) => e.startsWith(prefix))) {
    await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

function notAnOption(p: string): string {
  return p.startsWith("-") ? `./${p}` : p;
}
