// Runs the real `lab` CLI (and through it the real labd) inside a test namespace with its own
// LAB_HOME and LAB_RUN.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { deleteNetns, inNs, pidsInNs } from "./netns.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const labBin = path.join(repoRoot, "bin/lab.js");

export interface LabEnv {
  ns: string;
  home: string;
  run: string;
  env: Record<string, string>;
  lab: (args: string[], opts?: { reject?: boolean; env?: Record<string, string> }) => Promise<LabResult>;
  labJson: <T>(args: string[]) => Promise<T>;
  cleanup: () => Promise<void>;
}

export interface LabResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function createLabEnv(ns: string, extraEnv: Record<string, string> = {}): Promise<LabEnv> {
  const base = await mkdtemp(path.join(tmpdir(), "lab-it-"));
  const home = path.join(base, "home");
  const run = path.join(base, "run");
  const env = { LAB_HOME: home, LAB_RUN: run, PATH: process.env.PATH ?? "/usr/bin:/bin", ...extraEnv };
  const lab = async (args: string[], opts: { reject?: boolean; env?: Record<string, string> } = {}) => {
    const r = await execa("ip", ["netns", "exec", ns, process.execPath, labBin, ...args], {
      env: { ...env, ...opts.env },
      extendEnv: false,
      reject: false,
    });
    const out = { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if ((opts.reject ?? true) && out.exitCode !== 0) {
      throw new Error(`lab ${args.join(" ")} exited ${out.exitCode}\n${out.stderr}\n${out.stdout}`);
    }
    return out;
  };
  const labJson = async <T>(args: string[]) => JSON.parse((await lab([...args, "--json"])).stdout) as T;
  const cleanup = async () => {
    await lab(["daemon", "stop"], { reject: false });
    await deleteNetns(ns);
    await rm(base, { recursive: true, force: true });
  };
  return { ns, home, run, env, lab, labJson, cleanup };
}

export async function daemonPid(env: LabEnv): Promise<number | undefined> {
  const text = await readFile(path.join(env.run, "labd.pid"), "utf8").catch(() => "");
  return text.trim() ? Number(text.trim()) : undefined;
}

/** Processes in the namespace other than labd: dnsmasq, ovs, qemu. */
export async function childProcesses(env: LabEnv): Promise<string[]> {
  const labd = await daemonPid(env);
  const out: string[] = [];
  for (const pid of await pidsInNs(env.ns)) {
    if (pid === labd) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (!cmd || / Z /.test(stat.slice(stat.lastIndexOf(")")))) continue;
    out.push(cmd.split("\0").join(" ").trim());
  }
  return out;
}

export async function iptablesSave(ns: string): Promise<string[]> {
  const r = await inNs(ns, ["iptables-save"]);
  return String(r.stdout)
    .split("\n")
    .filter((l) => l.startsWith("-A") || l.startsWith(":LAB"));
}

export async function links(ns: string): Promise<string[]> {
  const r = await inNs(ns, ["ip", "-j", "link", "show"]);
  return (JSON.parse(String(r.stdout)) as { ifname: string }[]).map((l) => l.ifname);
}
