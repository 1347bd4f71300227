// The group whose members may use labd's socket (and VM consoles): `lab`, or LAB_GROUP.
import { chown, mkdir, readFile } from "node:fs/promises";

export function labGroupName(env: NodeJS.ProcessEnv = process.env): string {
  return env.LAB_GROUP || "lab";
}

export async function labGroupId(name = labGroupName()): Promise<number | undefined> {
  const text = await readFile("/etc/group", "utf8").catch(() => "");
  const line = text.split("\n").find((l) => l.split(":")[0] === name);
  const gid = line ? Number(line.split(":")[2]) : Number.NaN;
  return Number.isInteger(gid) ? gid : undefined;
}

/** A directory root owns and the lab group may enter and read (0750), or only root without one. */
export async function groupDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await chown(dir, 0, (await labGroupId()) ?? 0);
}
