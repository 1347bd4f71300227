// Host keys a guest reports on its serial console ("LAB-SSH-HOSTKEY <type> <base64>", one line
// each, printed at every boot by the guest's ssh-hostkeys unit) and the lab-managed known_hosts
// built from them. The console is guest output: every key is checked to be a well-formed
// OpenSSH public key blob of the type it claims before it is written anywhere.

export interface HostKey {
  type: string;
  base64: string;
}

const LINE = /^[ \t\r]*LAB-SSH-HOSTKEY ([a-z0-9@.-]{1,64}) ([A-Za-z0-9+/]+={0,2})\r?$/gm;

/** A key blob starts with its own type as an SSH string (uint32 length + bytes). */
export function isKeyBlob(type: string, base64: string): boolean {
  const blob = Buffer.from(base64, "base64");
  if (blob.toString("base64") !== base64 || blob.length < 4 + type.length) return false;
  return (
    blob.readUInt32BE(0) === type.length && blob.subarray(4, 4 + type.length).toString("latin1") === type
  );
}

/** The keys of the latest boot: the last line of each type wins. */
export function parseHostKeys(serialLog: string): HostKey[] {
  const byType = new Map<string, HostKey>();
  for (const m of serialLog.matchAll(LINE)) {
    const [type, base64] = [m[1]!, m[2]!];
    if (!isKeyBlob(type, base64)) continue;
    byType.delete(type); // keep the order of the latest report
    byType.set(type, { type, base64 });
  }
  return [...byType.values()];
}

function names(line: string): string[] {
  const first = line.trim().split(/\s+/)[0] ?? "";
  return first.startsWith("#") || first.startsWith("@") ? [] : first.split(",");
}

/**
 * known_hosts text with every line naming one of `hosts` replaced by `keys` (a VM's name and
 * IP; an IP handed to a new VM must not keep the old VM's key). No keys: the text is unchanged.
 */
export function mergeKnownHosts(text: string, hosts: readonly string[], keys: readonly HostKey[]): string {
  if (keys.length === 0) return text;
  const kept = text.split("\n").filter((l) => l.trim() !== "" && !names(l).some((n) => hosts.includes(n)));
  const field = hosts.join(",");
  return `${[...kept, ...keys.map((k) => `${field} ${k.type} ${k.base64}`)].join("\n")}\n`;
}
