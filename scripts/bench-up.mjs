#!/usr/bin/env zx
// Times `lab up -f examples/demo.yaml` from nothing (network, image import, three lab-test VMs to
// their LAB-READY line) next to guest boot times measured in the same run: the slowest guest of
// that `lab up` (create to LAB-READY) and one guest booted alone with `lab vm create`. The
// difference is lab's own overhead (target: within 2 s). Runs in a namespace it creates and
// removes; the daemon, OVS and the one-time accelerator probe are warmed up first.
//   npx zx scripts/bench-up.mjs [--runs 3]
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";

$.verbose = false;
const runs = Number(argv.runs ?? 1);
const root = path.resolve(import.meta.dirname, "..");
const lab = path.join(root, "bin/lab.js");
const file = path.join(root, "examples/demo.yaml");
const bundle = path.join(root, ".cache/images/lab-test");
const ns = `labbenchup${process.pid}`;
const base = await mkdtemp(path.join(tmpdir(), "lab-benchup-"));
const env = { ...process.env, LAB_HOME: `${base}/home`, LAB_RUN: `${base}/run` };
const inNs = (args) => $({ env, quiet: true })`ip netns exec ${ns} ${args}`;
const labIn = (...args) => inNs(["node", lab, ...args]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0).padStart(6)} ms`;

async function bootAlone(name) {
  const log = `${base}/run/vms/${name}/serial.log`;
  const t0 = performance.now();
  await labIn("vm", "create", name, "--role", "kubernetes", "--image", "lab-test");
  while (!(await readFile(log, "utf8").catch(() => "")).includes("LAB-READY {")) {
    if (performance.now() - t0 > 180_000) throw new Error(`${name} printed no LAB-READY line`);
    await sleep(20);
  }
  const took = performance.now() - t0;
  await labIn("vm", "destroy", name, "--forget");
  return took;
}

/** Wall time of one `lab up` from nothing, and each VM step's create-to-ready time from its events. */
async function upRun() {
  await labIn("net", "down");
  await labIn("image", "rm", "lab-test").nothrow();
  const t0 = performance.now();
  const r = await labIn("up", "-f", file, "--json");
  const wall = performance.now() - t0;
  const events = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const guests = events.filter((e) => e.type === "step" && e.kind === "vm" && e.state === "done");
  if (guests.length !== 3) throw new Error(`expected 3 VMs to be ready:\n${r.stdout}`);
  await labIn("down", "-f", file, "--forget");
  return { wall, slowest: Math.max(...guests.map((e) => e.elapsedMs)) };
}

try {
  await $`ip netns add ${ns}`;
  await inNs(["ip", "link", "set", "lo", "up"]);
  await labIn("net", "up");
  await labIn("image", "import", bundle, "--name", "lab-test");
  await bootAlone("warm"); // the daemon, OVS, the accelerator probe, the page cache
  const alone = [];
  const up = [];
  for (let i = 0; i < runs; i++) {
    await labIn("net", "up");
    await labIn("image", "import", bundle, "--name", "lab-test");
    alone.push(await bootAlone(`solo${i}`));
    up.push(await upRun());
  }
  const wall = median(up.map((u) => u.wall));
  const slowest = median(up.map((u) => u.slowest));
  const one = median(alone);
  console.log(`${runs > 1 ? `medians of ${runs} runs` : "one run"}, TCG, lab-test image, examples/demo.yaml`);
  console.log(`lab up (network + image + 3 VMs to LAB-READY), wall      ${ms(wall)}`);
  console.log(
    `slowest guest of that lab up, create -> LAB-READY        ${ms(slowest)}   difference ${ms(wall - slowest)}   (target <= 2000 ms)`,
  );
  console.log(
    `one guest alone, lab vm create -> LAB-READY              ${ms(one)}   difference ${ms(wall - one)}`,
  );
} finally {
  await labIn("down", "-f", file, "--forget").nothrow();
  await labIn("net", "down").nothrow();
  await labIn("daemon", "stop").nothrow();
  for (const pid of (await $`ip netns pids ${ns}`.nothrow()).stdout.split("\n").filter(Boolean))
    await $`kill -9 ${pid}`.nothrow();
  await $`ip netns del ${ns}`.nothrow();
  await rm(base, { recursive: true, force: true });
}
