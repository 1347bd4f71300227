#!/usr/bin/env zx
// The offline demo: a lab network, one etcd machine and two kubernetes machines booted from the
// lab-test image (built by `npm run setup`), then how to reach them and how to tear it down.
//   npm run demo               # bring it up
//   npx zx scripts/demo.mjs --down
import { readFile } from "node:fs/promises";

$.verbose = false;
const root = path.resolve(import.meta.dirname, "..");
const lab = (...args) =>
  $({ stdio: ["inherit", "pipe", "inherit"] })`node ${path.join(root, "bin/lab.js")} ${args}`;
const machines = [
  { name: "etcd", role: "etcd", ip: "172.16.11.10" },
  { name: "node1", role: "kubernetes" },
  { name: "node2", role: "kubernetes" },
];

if (argv.down) {
  for (const m of machines) await lab("vm", "destroy", m.name, "--forget");
  await lab("net", "down");
  console.log("demo lab removed");
  process.exit(0);
}

const step = async (what, fn) => {
  const t = Date.now();
  process.stdout.write(`${what} ... `);
  await fn();
  console.log(`done (${((Date.now() - t) / 1000).toFixed(1)} s)`);
};

await step("network default (labbr0, 172.16.11.0/24)", () => lab("net", "up"));
await step("image lab-test", () =>
  lab("image", "import", path.join(root, ".cache/images/lab-test"), "--name", "lab-test"),
);
for (const m of machines) {
  await step(`VM ${m.name} (role ${m.role})`, () =>
    lab("vm", "create", m.name, "--role", m.role, "--image", "lab-test", ...(m.ip ? ["--ip", m.ip] : [])),
  );
}

// The lab-test guest prints one LAB-READY line on its console once it has its lease.
const run = process.env.LAB_RUN || "/run/lab";
await step("waiting for the guests' DHCP leases", async () => {
  const deadline = Date.now() + 180_000;
  for (const m of machines) {
    while (
      !(await readFile(`${run}/vms/${m.name}/serial.log`, "utf8").catch(() => "")).includes("LAB-READY")
    ) {
      if (Date.now() > deadline) throw new Error(`${m.name} did not come up; see: lab vm logs ${m.name}`);
      await sleep(500);
    }
  }
});

console.log(`\n${(await lab("vm", "list")).stdout}`);
console.log(`Reach the machines:
  lab vm console node1            # a shell on its serial console (Ctrl-] detaches)
  ping 172.16.11.10               # from this host, over the bridge
  lab vm logs etcd                # its console output
  lab net status                  # bridge, dnsmasq, reservations (DNS: node1.lab via 172.16.11.1)

Tear it down:
  npx zx scripts/demo.mjs --down  # destroys the VMs, releases their addresses, removes the network

(lab is ./bin/lab.js; 'npm link' puts it on PATH.)`);
