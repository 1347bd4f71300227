#!/usr/bin/env zx
// Times boot -> fleet cluster of 3 on the Flatcar-shaped image: `lab up -f examples/demo-fleet.yaml`
// from nothing (network, image import, etcd + 2 kubernetes VMs, etcd and fleetd from the mirror)
// until fleet's API lists all three machines, next to the slowest guest's own boot to
// multi-user.target in the same run (`systemd-analyze time` on each guest: kernel + initrd + the
// time userspace took to reach multi-user.target). Runs in a namespace it creates and removes.
//   npx zx scripts/bench-fleet.mjs         (needs the lab-flatcar bundle and a fleetd in LAB_FLEET_BIN)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";

$.verbose = false;
const root = path.resolve(import.meta.dirname, "..");
const lab = path.join(root, "bin/lab.js");
const file = path.join(root, "examples/demo-fleet.yaml");
const bundle = path.join(root, ".cache/images/lab-flatcar");
const fleetd = path.join(
  path.resolve(process.env.LAB_FLEET_BIN || path.join(root, "..", "shared", "bin")),
  "fleetd",
);
const ns = `labbenchfl${process.pid}`;
const base = await mkdtemp(path.join(tmpdir(), "lab-benchfleet-"));
const env = { ...process.env, LAB_HOME: `${base}/home`, LAB_RUN: `${base}/run` };
const inNs = (args) => $({ env, quiet: true })`ip netns exec ${ns} ${args}`;
const labIn = (...args) => inNs(["node", lab, ...args]);
const s = (x) => `${(x / 1000).toFixed(1).padStart(6)} s`;

/** "Startup finished in 1.2s (kernel) + 3.4s (initrd) + ..." and "multi-user.target reached after 20.1s in userspace". */
function bootToMultiUser(text) {
  const sec = (v) => {
    let t = 0;
    for (const [, n, u] of v.matchAll(/([\d.]+)(min|ms|s)/g))
      t += Number(n) * (u === "min" ? 60 : u === "ms" ? 0.001 : 1);
    return t;
  };
  const kernel = /in (.+?) \(kernel\)/.exec(text)?.[1];
  const initrd = /\+ (.+?) \(initrd\)/.exec(text)?.[1];
  // The default target: graphical.target on the Debian-built image (reached right after multi-user).
  const user = /(?:multi-user|graphical)\.target reached after (.+?) in userspace/.exec(text)?.[1];
  if (!kernel || !user) throw new Error(`cannot read systemd-analyze time: ${text}`);
  return (sec(kernel) + (initrd ? sec(initrd) : 0) + sec(user)) * 1000;
}

try {
  for (const f of [path.join(bundle, "manifest.json"), path.join(bundle, "mirror/etcd"), fleetd])
    if (!fs.existsSync(f))
      throw new Error(`${f} missing (npm run setup builds the image; LAB_FLEET_BIN names fleetd)`);
  await $`ip netns add ${ns}`;
  await inNs(["ip", "link", "set", "lo", "up"]);
  await labIn("mirror", "import", "etcd", path.join(bundle, "mirror/etcd"));
  await labIn("mirror", "import", "fleetd", fleetd);
  const t0 = performance.now();
  const up = labIn("up", "-f", file);
  let fleetAt;
  for (;;) {
    const r = await inNs([
      "curl",
      "-s",
      "--max-time",
      "2",
      "http://172.16.11.10:49153/fleet/v1/machines",
    ]).nothrow();
    const n = r.exitCode === 0 ? (JSON.parse(r.stdout || "{}").machines ?? []).length : 0;
    if (n === 3) {
      fleetAt = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 900_000) throw new Error("fleet did not list 3 machines within 15 min");
    await sleep(250);
  }
  await up;
  const upAt = performance.now() - t0;
  const boots = {};
  for (const vm of ["etcd", "node-1", "node-2"])
    boots[vm] = bootToMultiUser((await labIn("vm", "ssh", vm, "--", "systemd-analyze", "time")).stdout);
  const [slowVm, slowest] = Object.entries(boots).sort((a, b) => b[1] - a[1])[0];
  console.log(
    "one run, TCG, lab-flatcar image, examples/demo-fleet.yaml (etcd + 2 kubernetes, 512 MiB each)",
  );
  console.log(`lab up start -> fleet lists 3 machines                 ${s(fleetAt)}`);
  console.log(`lab up start -> lab up done (host keys in known_hosts)  ${s(upAt)}`);
  console.log(
    `slowest guest (${slowVm}) power-on -> multi-user.target   ${s(slowest)}   difference ${s(fleetAt - slowest)}`,
  );
  console.log(
    `  each: ${Object.entries(boots)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(", ")}`,
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
