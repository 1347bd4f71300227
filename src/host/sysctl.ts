// Kernel settings lab needs, read and written through /proc/sys.
import { readFile, writeFile } from "node:fs/promises";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

export async function ipForwarding(): Promise<boolean> {
  return (await readFile(IP_FORWARD, "utf8")).trim() === "1";
}

export async function enableIpForwarding(): Promise<void> {
  if (!(await ipForwarding())) await writeFile(IP_FORWARD, "1\n");
}
