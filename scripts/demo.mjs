#!/usr/bin/env zx
// The offline demo: `lab up -f examples/demo.yaml` brings up the lab network, one etcd machine and
// two kubernetes machines booted from the lab-test image (built by `npm run setup`), then this
// prints how to reach them and how to tear the lab down.
//   npm run demo               # bring it up (a second run does nothing)
//   npx zx scripts/demo.mjs --down
$.verbose = false;
const root = path.resolve(import.meta.dirname, "..");
const file = path.join(root, "examples/demo.yaml");
const rel = path.relative(process.cwd(), file) || file;
// stdio inherited: lab draws its live task list on this terminal, and Ctrl-C reaches it.
const lab = (...args) =>
  $({ stdio: "inherit", nothrow: true })`node ${path.join(root, "bin/lab.js")} ${args}`;

async function run(...args) {
  const r = await lab(...args);
  if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
}

if (argv.down) {
  await run("down", "-f", file, "--forget");
  console.log("demo lab removed (the lab-test image stays; 'lab image rm lab-test' removes it)");
  process.exit(0);
}

await run("up", "-f", file);
console.log("");
await run("status", "-f", file);
console.log(`
Reach the machines:
  lab vm console node-1           # a shell on its serial console (Ctrl-] detaches)
  ping 172.16.11.10               # the etcd machine, from this host over the bridge
  lab vm logs etcd                # its console output
  lab status -f ${rel}

Tear it down (destroys the VMs, releases their addresses, removes the network):
  lab down -f ${rel} --forget
  npx zx scripts/demo.mjs --down  # the same

(lab is ./bin/lab.js; 'npm link' puts it on PATH.)`);
