// The OpenStack "config-2" drive a VM reads its cloud-config from: a directory tree (shared over
// 9p) and an ISO 9660 image of it labelled config-2 (which CoreOS/Flatcar udev rules mount).
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host/host.js";
import { fsyncPath, renameDurably, swapDirectory, tempArea, writeNewFile } from "../state/atomic.js";

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
  const area = tempArea(path.dirname(configDir));
  await area.cleanStale();
  const staging = area.claim(path.basename(configDir));
  try {
    await mkdir(staging, { mode: DIR_MODE });
    for (const file of buildConfigDriveFiles(input)) {
      const target = path.join(staging, file.path);
      await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
      await writeNewFile(target, file.content, FILE_MODE);
    }
    await swapDirectory(staging, configDir);
  } finally {
    await area.release(staging);
  }
  if (isoPath !== undefined) await writeIso(host, configDir, isoPath);
}

async function writeIso(host: Host, configDir: string, isoPath: string): Promise<void> {
  const area = tempArea(path.dirname(isoPath));
  await area.cleanStale();
  const temp = area.claim(path.basename(isoPath));
  try {
    await host.run(buildIsoArgv(configDir, temp));
    await chmod(temp, FILE_MODE);
    await fsyncPath(temp);
    await renameDurably(temp, isoPath);
  } finally {
    await area.release(temp);
  }
}

function notAnOption(p: string): string {
  return p.startsWith("-") ? `./${p}` : p;
}
