#!/usr/bin/env zx
// The demo. With fleet at hand (etcd and fleetd in the lab mirror, or the Flatcar-shaped image's
// etcd plus a fleetd in $LAB_FLEET_BIN, default ../shared/bin): `lab up -f examples/demo-fleet.yaml`
// (etcd + 2 kubernetes machines on lab-flatcar), `lab fleet start` of a small web server on every
// kubernetes machine, `lab fleet list-units`, and each server answering this host. Without fleet:
// the offline busybox demo (examples/demo.yaml), after one line on how to get fleet.
//   npm run demo               # bring it up (a second run does nothing new)
//   npx zx scripts/demo.mjs --down
//   npx zx scripts/demo.mjs --shot # only the screenshot of the web page (.cache/lab.png)
// Either way it ends with a screenshot of the page `lab web` serves, written to .cache/lab.png.
import { webScreenshot } from "./web-shot.mjs";

$.verbose = false;
const root = path.resolve(import.meta.dirname, "..");
const fleetFile = path.join(root, "examples/demo-fleet.yaml");
const plainFile = path.join(root, "examples/demo.yaml");
const bundle = path.join(root, ".cache/images/lab-flatcar");
const fleetBin = path.resolve(process.env.LAB_FLEET_BIN || path.join(root, "..", "shared", "bin"));
const rel = (f) => path.relative(process.cwd(), f) || f;
const labJs = path.join(root, "bin/lab.js");
// stdio inherited: lab draws its live task list on this terminal, and Ctrl-C reaches it.
const lab = (...args) => $({ stdio: "inherit", nothrow: true })`node ${labJs} ${args}`;
const labQuiet = (...args) => $({ nothrow: true })`node ${labJs} ${args}`;

async function run(...args) {
  const r = await lab(...args);
  if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
}

/** What the mirror already has, by name (empty when labd cannot be asked). */
async function mirrorHas() {
  const r = await labQuiet("mirror", "list", "--json");
  try {
    return new Set(JSON.parse(r.stdout).artifacts.map((a) => a.name));
  } catch {
    return new Set();
  }
}

/** Fills the mirror from local files where it lacks etcd or fleetd; false when that is not possible. */
async function fleetReady() {
  if (!fs.existsSync(path.join(bundle, "manifest.json"))) return false;
  const have = await mirrorHas();
  const sources = { etcd: path.join(bundle, "mirror/etcd"), fleetd: path.join(fleetBin, "fleetd") };
  for (const [name, file] of Object.entries(sources)) {
    if (have.has(name)) continue;
    if (!fs.existsSync(file)) return false;
    await run("mirror", "import", name, file);
  }
  return true;
}

/** The web page as a picture, and how to open it live. */
async function shot() {
  try {
    const out = await webScreenshot(path.join(root, ".cache/lab.png"));
    console.log(
      `\nThe web page (lab web): a screenshot is in ${rel(out)}; 'lab web' prints the live page's URL.`,
    );
  } catch (err) {
    console.log(`\nno screenshot of the web page: ${err.message}`);
  }
}

if (argv.shot) {
  await shot();
  process.exit(0);
}

if (argv.down) {
  for (const f of [fleetFile, plainFile]) await labQuiet("down", "-f", f, "--forget");
  console.log("demo lab removed (images and mirror stay: 'lab image rm NAME', 'lab mirror rm NAME')");
  process.exit(0);
}

if (!(await fleetReady())) {
  console.log(
    "no fleet for the demo: run 'lab mirror add --for fleet' (internet) or set LAB_FLEET_BIN to a folder with fleetd, and 'npm run setup' (lab-flatcar image); showing the busybox lab instead",
  );
  await run("up", "-f", plainFile);
  await run("status", "-f", plainFile);
  await shot();
  console.log(`\nTear it down: lab down -f ${rel(plainFile)} --forget`);
  process.exit(0);
}

await run("up", "-f", fleetFile);
console.log("\n$ lab fleet start --units-dir examples/units demo-web.service");
await run("fleet", "start", "--units-dir", path.join(root, "examples/units"), "demo-web.service");
console.log("\n$ lab fleet list-units");
await run("fleet", "list-units");
for (const ip of ["172.16.11.11", "172.16.11.12"]) {
  const r = await $({ nothrow: true })`curl -s --max-time 10 http://${ip}:8080/`;
  console.log(
    `$ curl http://${ip}:8080/  ->  ${r.exitCode === 0 ? r.stdout.trim() : `no answer (curl ${r.exitCode})`}`,
  );
}
await shot();
console.log(`
Next:
  lab fleet status demo-web.service  # systemd's view, over ssh to the machine
  lab vm ssh node-1 -- hostname      # host keys came from the console: no --accept-new
  lab status -f ${rel(fleetFile)}

Tear it down (destroys the VMs, releases their addresses, removes the network):
  npx zx scripts/demo.mjs --down

(lab is ./bin/lab.js; 'npm link' puts it on PATH.)`);
