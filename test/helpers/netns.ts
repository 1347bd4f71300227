// Network namespaces for integration tests: the lab host, clients and an "outside world".
// Everything a test creates here is removed in its teardown; nothing touches the machine's own
// namespace.
import { randomBytes } from "node:crypto";
import { execa } from "execa";

const created: string[] = [];

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString("hex")}`;
}

export async function sh(argv: string[], opts: { input?: string; reject?: boolean } = {}) {
  return execa(argv[0]!, argv.slice(1), {
    reject: opts.reject ?? true,
    input: opts.input,
    env: { LC_ALL: "C" },
  });
}

export async function createNetns(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await sh(["ip", "netns", "add", name]);
  created.push(name);
  await inNs(name, ["ip", "link", "set", "lo", "up"]);
  return name;
}

export function inNs(ns: string, argv: string[], opts: { input?: string; reject?: boolean } = {}) {
  return sh(["ip", "netns", "exec", ns, ...argv], opts);
}

/** A veth pair with one end in each namespace. */
export async function vethPair(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await inNs(nsA, ["ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB]);
  await inNs(nsA, ["ip", "link", "set", ifB, "netns", nsB]);
  await inNs(nsA, ["ip", "link", "set", ifA, "up"]);
  await inNs(nsB, ["ip", "link", "set", ifB, "up"]);
}

/** Pids of every process whose network namespace is `ns`. */
export async function pidsInNs(ns: string): Promise<number[]> {
  const r = await sh(["ip", "netns", "pids", ns], { reject: false });
  return String(r.stdout).split("\n").filter(Boolean).map(Number);
}

export async function deleteNetns(ns: string): Promise<void> {
  for (const pid of await pidsInNs(ns)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await sh(["ip", "netns", "del", ns], { reject: false });
  const i = created.indexOf(ns);
  if (i >= 0) created.splice(i, 1);
}

export async function deleteAllNetns(): Promise<void> {
  for (const ns of [...created]) await deleteNetns(ns);
}
