#!/usr/bin/env node
// CLI start-up: `lab --help` and `lab vm list` (labd running, empty lab) next to bare `node -e 0`,
// each run N times (default 20, `--runs N`), interleaved so a machine that gets busier or quieter
// during the run affects all three alike. Prints medians of wall and CPU time and each one's ratio
// to bare node measured in the same run. labd runs in a network namespace this script creates and
// removes, with its own LAB_HOME/LAB_RUN; needs root (as labd does).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

const i = process.argv.indexOf("--runs");
const runs = i > 0 ? Number(process.argv[i + 1]) : 20;
const root = path.resolve(import.meta.dirname, "..");
const lab = path.join(root, "bin/lab.js");
const ns = `labcli${process.pid}`;
const base = mkdtempSync(path.join(tmpdir(), "lab-bench-cli-"));
const env = { ...process.env, LAB_HOME: `${base}/home`, LAB_RUN: `${base}/run` };
const inNs = (args) => execFileSync("ip", ["netns", "exec", ns, ...args], { env, stdio: "pipe" });

// Each start is a node process run directly (no shell) that reports its own CPU time on exit.
const CPU_HOOK = `data:text/javascript,process.on("exit",()=>{const c=process.cpuUsage();process.stderr.write("cpu-ms "+(c.user+c.system)/1000+"\\n")})`;
function start(args) {
  const t = performance.now();
  const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "--import", CPU_HOOK, ...args], {
    env,
    encoding: "utf8",
  });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: Number(/cpu-ms (\S+)/.exec(r.stderr)?.[1]) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cases = [
  ["node -e 0", ["-e", "0"]],
  ["lab --help", [lab, "--help"]],
  ["lab vm list", [lab, "vm", "list"]],
];
try {
  execFileSync("ip", ["netns", "add", ns]);
  inNs(["ip", "link", "set", "lo", "up"]);
  inNs([process.execPath, lab, "daemon", "start"]);
  const got = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [k, [, args]] of cases.entries()) got[k].push(start(args));
  }
  const med = got.map((xs) => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) }));
  console.log(`medians of ${runs} runs each, interleaved (ratio = against bare node in this run)`);
  cases.forEach(([label], k) => {
    const m = med[k];
    const ratio = (key) => (m[key] / med[0][key]).toFixed(2);
    console.log(
      `${label.padEnd(14)} wall ${m.wall.toFixed(0).padStart(5)} ms (x${ratio("wall")})   cpu ${m.cpu.toFixed(0).padStart(5)} ms (x${ratio("cpu")})`,
    );
  });
  console.log("target: lab --help and lab vm list at about 1.5x bare node");
} finally {
  try {
    inNs([process.execPath, lab, "daemon", "stop"]);
  } catch {}
  const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean);
  for (const pid of pids) spawnSync("kill", ["-9", pid]);
  spawnSync("ip", ["netns", "del", ns]);
  rmSync(base, { recursive: true, force: true });
}
