#!/usr/bin/env zx
// Times `lab net up` (cold), `lab net up` (already up), `lab net down`, as medians of several
// runs, next to the equivalent raw commands run by hand in the same run; and the CLI's start-up
// (`lab --help`, `lab vm list`) next to bare `node -e 0`, in wall time and in CPU time (which a
// busy machine disturbs less). Everything happens inside a network namespace this script
// creates and removes.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";

$.verbose = false;
const runs = Number(argv.runs ?? 5);
const root = path.resolve(import.meta.dirname, "..");
const lab = path.join(root, "bin/lab.js");
const ns = `labbench${process.pid}`;
const base = await mkdtemp(path.join(tmpdir(), "lab-bench-"));
const env = { ...process.env, LAB_HOME: `${base}/home`, LAB_RUN: `${base}/run` };
const inNs = (args) => $({ env, quiet: true })`ip netns exec ${ns} ${args}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

// Each start-up is a node process run directly (no shell), reporting its own CPU time on exit.
const CPU_HOOK = `data:text/javascript,process.on("exit",()=>{const c=process.cpuUsage();process.stderr.write("cpu-ms "+(c.user+c.system)/1000+"\\n")})`;
function startup(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, ["--import", CPU_HOOK, ...args], { env, encoding: "utf8" });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: Number(/cpu-ms (\S+)/.exec(r.stderr)?.[1]) };
}

// The same work by hand: private OVS, bridge, address, forwarding, NAT rules, dnsmasq.
const raw = `${base}/raw`;
const rawUp = [
  ["mkdir", "-p", raw],
  ["ovsdb-tool", "create", `${raw}/conf.db`, "/usr/share/openvswitch/vswitch.ovsschema"],
  [
    "ovsdb-server",
    `${raw}/conf.db`,
    `--remote=punix:${raw}/db.sock`,
    `--pidfile=${raw}/db.pid`,
    `--unixctl=${raw}/db.ctl`,
    "--detach",
  ],
  ["ovs-vsctl", `--db=unix:${raw}/db.sock`, "--no-wait", "init"],
  [
    "ovs-vswitchd",
    `unix:${raw}/db.sock`,
    `--pidfile=${raw}/sw.pid`,
    `--unixctl=${raw}/sw.ctl`,
    "-vconsole:off",
    "--detach",
  ],
  [
    "ovs-vsctl",
    `--db=unix:${raw}/db.sock`,
    "add-br",
    "rawbr0",
    "--",
    "set",
    "bridge",
    "rawbr0",
    "datapath_type=netdev",
  ],
  ["ip", "addr", "add", "172.16.50.1/24", "dev", "rawbr0"],
  ["ip", "link", "set", "rawbr0", "up"],
  ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
  ["iptables", "-w", "-I", "FORWARD", "-s", "172.16.50.0/24", "-i", "rawbr0", "-j", "ACCEPT"],
  [
    "iptables",
    "-w",
    "-t",
    "nat",
    "-A",
    "POSTROUTING",
    "-s",
    "172.16.50.0/24",
    "!",
    "-d",
    "172.16.50.0/24",
    "-j",
    "MASQUERADE",
  ],
  [
    "dnsmasq",
    "--bind-interfaces",
    "--interface=rawbr0",
    "--listen-address=172.16.50.1",
    "--dhcp-range=172.16.50.100,172.16.50.200",
    `--pid-file=${raw}/dnsmasq.pid`,
    `--dhcp-leasefile=${raw}/leases`,
  ],
];
async function rawDown() {
  for (const pidFile of ["dnsmasq.pid", "sw.pid", "db.pid"]) {
    const pid = (await fs.readFile(`${raw}/${pidFile}`, "utf8").catch(() => "")).trim();
    if (pid) await $`kill ${pid}`.nothrow();
  }
  await inNs([
    "iptables",
    "-w",
    "-D",
    "FORWARD",
    "-s",
    "172.16.50.0/24",
    "-i",
    "rawbr0",
    "-j",
    "ACCEPT",
  ]).nothrow();
  await inNs([
    "iptables",
    "-w",
    "-t",
    "nat",
    "-D",
    "POSTROUTING",
    "-s",
    "172.16.50.0/24",
    "!",
    "-d",
    "172.16.50.0/24",
    "-j",
    "MASQUERADE",
  ]).nothrow();
  await inNs(["ip", "link", "del", "rawbr0"]).nothrow();
  await $`rm -rf ${raw}`;
  await sleep(300);
}

try {
  await $`ip netns add ${ns}`;
  await inNs(["ip", "link", "set", "lo", "up"]);
  await inNs(["node", lab, "daemon", "start"]);
  const t = { cold: [], warm: [], down: [], rawUp: [], rawDown: [] };
  const starts = { bare: [], help: [], list: [] };
  for (let i = 0; i < runs; i++) {
    t.cold.push(await time(() => inNs(["node", lab, "net", "up"])));
    t.warm.push(await time(() => inNs(["node", lab, "net", "up"])));
    t.down.push(await time(() => inNs(["node", lab, "net", "down"])));
    for (let j = 0; j < 4; j++) {
      starts.bare.push(startup(["-e", "0"]));
      starts.help.push(startup([lab, "--help"]));
      starts.list.push(startup([lab, "vm", "list"]));
    }
    t.rawUp.push(
      await time(async () => {
        for (const c of rawUp) await inNs(c);
      }),
    );
    t.rawDown.push(await time(rawDown));
  }
  const row = (label, ms, baseline, target) =>
    console.log(
      `${label.padEnd(26)} ${median(ms).toFixed(0).padStart(6)} ms${baseline ? `   raw ${median(baseline).toFixed(0).padStart(5)} ms   ratio ${(median(ms) / median(baseline)).toFixed(2)}` : "".padEnd(32)}   target ${target}`,
    );
  console.log(`medians of ${runs} runs (inside namespace ${ns})`);
  row("lab net up (cold)", t.cold, t.rawUp, "< 1500 ms");
  row("lab net up (already up)", t.warm, undefined, "< 300 ms");
  row("lab net down", t.down, t.rawDown, "-");
  const bare = (k) => starts.bare.map((x) => x[k]);
  for (const [label, key, target] of [
    ["lab --help", "help", "<= 120 ms wall"],
    ["lab vm list", "list", "<= 120 ms wall"],
  ]) {
    row(
      `${label} (wall)`,
      starts[key].map((x) => x.wall),
      bare("wall"),
      target,
    );
    row(
      `${label} (cpu)`,
      starts[key].map((x) => x.cpu),
      bare("cpu"),
      "-",
    );
  }
  console.log(
    `(raw = bare 'node -e 0': ${median(bare("wall")).toFixed(0)} ms wall, ${median(bare("cpu")).toFixed(0)} ms cpu; ${starts.bare.length} starts each)`,
  );
} finally {
  await inNs(["node", lab, "daemon", "stop"]).nothrow();
  await rawDown().catch(() => undefined);
  for (const pid of (await $`ip netns pids ${ns}`.nothrow()).stdout.split("\n").filter(Boolean))
    await $`kill -9 ${pid}`.nothrow();
  await $`ip netns del ${ns}`.nothrow();
  await rm(base, { recursive: true, force: true });
}
