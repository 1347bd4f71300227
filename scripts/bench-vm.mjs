#!/usr/bin/env zx
// Times `lab vm create` to "qemu running with its port on the bridge" and to the guest's DHCP
// lease, as medians, next to the same guest started by the equivalent raw qemu-img / genisoimage /
// ip / ovs-vsctl / qemu commands in the same run. Runs in a namespace it creates and removes.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";

$.verbose = false;
const runs = Number(argv.runs ?? 3);
const root = path.resolve(import.meta.dirname, "..");
const lab = path.join(root, "bin/lab.js");
const bundle = path.join(root, ".cache/images/lab-test");
const ns = `labbenchvm${process.pid}`;
const base = await mkdtemp(path.join(tmpdir(), "lab-benchvm-"));
const env = { ...process.env, LAB_HOME: `${base}/home`, LAB_RUN: `${base}/run` };
const inNs = (args) => $({ env, quiet: true })`ip netns exec ${ns} ${args}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const leases = `${base}/run/dnsmasq/default.leases`;

async function waitForLease(mac, t0) {
  for (;;) {
    const text = await readFile(leases, "utf8").catch(() => "");
    if (text.includes(mac)) return performance.now() - t0;
    if (performance.now() - t0 > 120_000) throw new Error(`no lease for ${mac}`);
    await sleep(20);
  }
}

async function labRun(i) {
  const name = `b${i}`;
  const t0 = performance.now();
  await inNs(["node", lab, "vm", "create", name, "--role", "kubernetes", "--image", "lab-test"]);
  const hostSide = performance.now() - t0;
  const mac = JSON.parse((await inNs(["node", lab, "vm", "show", name, "--json"])).stdout).mac;
  const lease = await waitForLease(mac, t0);
  await inNs(["node", lab, "vm", "destroy", name, "--forget"]);
  return { hostSide, lease };
}

async function rawRun(i) {
  const dir = `${base}/raw${i}`;
  const mac = `52:54:00:be:00:${(16 + i).toString(16)}`;
  const tap = `rawtap${i}`;
  await $`mkdir -p ${dir}/cfg/openstack/latest`;
  await writeFile(`${dir}/cfg/openstack/latest/user_data`, `#cloud-config\nhostname: raw${i}\n`);
  await writeFile(
    `${dir}/cfg/openstack/latest/meta_data.json`,
    JSON.stringify({ uuid: `raw-${i}`, name: `raw${i}`, hostname: `raw${i}` }),
  );
  const manifest = JSON.parse(await readFile(`${bundle}/manifest.json`, "utf8"));
  const t0 = performance.now();
  await $`qemu-img create -q -f qcow2 -F qcow2 -b ${bundle}/disk.qcow2 ${dir}/disk.qcow2`;
  await $`genisoimage -quiet -input-charset utf-8 -V config-2 -J -R -o ${dir}/cfg.iso ${dir}/cfg`;
  await inNs(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  await inNs(["ip", "link", "set", "dev", tap, "arp", "off", "up"]);
  await inNs(["ovs-vsctl", `--db=unix:${base}/run/ovs/db.sock`, "add-port", "labbr0", tap]);
  const qemu = $({
    env,
    nothrow: true,
  })`ip netns exec ${ns} qemu-system-x86_64 -machine pc -accel tcg -m 256 -nodefaults -display none -serial file:${dir}/serial.log -drive file=${dir}/disk.qcow2,if=virtio,format=qcow2 -drive file=${dir}/cfg.iso,if=virtio,format=raw,readonly=on -netdev tap,id=n0,ifname=${tap},script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=${mac} -kernel ${bundle}/${manifest.boot.kernel} -initrd ${bundle}/${manifest.boot.initrd} -append ${manifest.boot.cmdline}`;
  const lease = await waitForLease(mac, t0);
  qemu.kill("SIGKILL");
  await qemu;
  await inNs(["ovs-vsctl", `--db=unix:${base}/run/ovs/db.sock`, "del-port", tap]);
  await inNs(["ip", "link", "del", tap]);
  return { lease };
}

try {
  await $`ip netns add ${ns}`;
  await inNs(["ip", "link", "set", "lo", "up"]);
  await inNs(["node", lab, "net", "up"]);
  await inNs(["node", lab, "image", "import", bundle, "--name", "lab-test"]);
  await labRun(99); // warm-up: the one-time KVM probe and page cache
  const l = [];
  const r = [];
  for (let i = 0; i < runs; i++) {
    l.push(await labRun(i));
    r.push(await rawRun(i));
  }
  const hs = median(l.map((x) => x.hostSide));
  const ll = median(l.map((x) => x.lease));
  const rl = median(r.map((x) => x.lease));
  console.log(`medians of ${runs} runs, TCG, lab-test image`);
  console.log(
    `lab vm create -> qemu running, port on bridge  ${hs.toFixed(0).padStart(6)} ms   target < 300 ms`,
  );
  console.log(`lab vm create -> guest DHCP lease              ${ll.toFixed(0).padStart(6)} ms`);
  console.log(
    `raw commands  -> guest DHCP lease              ${rl.toFixed(0).padStart(6)} ms   ratio ${(ll / rl).toFixed(2)} (target <= 1.10)`,
  );
} finally {
  await inNs(["node", lab, "net", "down"]).nothrow();
  await inNs(["node", lab, "daemon", "stop"]).nothrow();
  for (const pid of (await $`ip netns pids ${ns}`.nothrow()).stdout.split("\n").filter(Boolean))
    await $`kill -9 ${pid}`.nothrow();
  await $`ip netns del ${ns}`.nothrow();
  await rm(base, { recursive: true, force: true });
}
