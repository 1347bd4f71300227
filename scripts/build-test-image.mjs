#!/usr/bin/env zx
// Builds the offline "lab-test" guest image bundle (kernel + busybox initramfs + tiny base disk)
// from Debian packages only: linux-image-amd64 (or -cloud-amd64), busybox-static, qemu-utils.
//
//   npx zx scripts/build-test-image.mjs [--out DIR] [--kernel-version X]
//
// The bundle is cached by a hash of the recipe, kernel version and busybox version: when
// DIR/manifest.json already carries that version nothing is rebuilt.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { installBundle, readManifest } from "./lib/bundle.mjs";

$.verbose = false;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const recipeDir = path.join(repoRoot, "images/lab-test");
const outDir = argv.out ? path.resolve(String(argv.out)) : path.join(repoRoot, ".cache/images/lab-test");
const CMDLINE = "console=ttyS0 panic=-1 quiet";

// Prefer the generic kernel: Debian's cloud kernel has no 9p, so 9p config drives need it.
function defaultKernel() {
  const installed = fs
    .readdirSync("/boot")
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .filter((v) => fs.existsSync(`/lib/modules/${v}/modules.dep`))
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true })); // newest first
  const pick = installed.find((v) => !v.includes("-cloud-")) ?? installed[0];
  if (!pick) throw new Error("no kernel with modules in /boot: apt-get install linux-image-amd64");
  return pick;
}

async function busyboxVersion() {
  // Default output is "package<TAB>version".
  const r = await $`dpkg-query -W busybox-static`.nothrow();
  const v = r.stdout.split("\t")[1]?.trim();
  if (r.exitCode === 0 && v) return v;
  return (await $`busybox`.nothrow()).stdout.split("\n")[0].trim();
}

// modules.txt: "group: mod mod? ..." lines; see the comment at its top.
function parseModuleGroups(text) {
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => {
      const [head, rest] = l.split(/:\s*/, 2);
      return {
        name: head.replace(/\?$/, ""),
        optional: head.endsWith("?"),
        modules: rest.split(/\s+/).filter(Boolean),
      };
    });
}

const norm = (name) => name.replace(/-/g, "_");
const modName = (p) => norm(path.basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, ""));

function readModulesDep(kver) {
  const dir = `/lib/modules/${kver}`;
  const deps = new Map(); // module name -> { path, deps: [paths] }
  for (const line of fs.readFileSync(`${dir}/modules.dep`, "utf8").split("\n")) {
    const m = line.match(/^([^:]+):\s*(.*)$/);
    if (m) deps.set(modName(m[1]), { path: m[1], deps: m[2].split(/\s+/).filter(Boolean) });
  }
  const builtinFile = `${dir}/modules.builtin`;
  const builtin = new Set(
    fs.existsSync(builtinFile)
      ? fs.readFileSync(builtinFile, "utf8").split("\n").filter(Boolean).map(modName)
      : [],
  );
  return { dir, deps, builtin };
}

// Resolves each group to its module files in load order (dependencies first).
function resolveGroups(groups, kmods) {
  const resolved = new Map();
  for (const g of groups) {
    const order = [];
    const seen = new Set();
    const visit = (relPath) => {
      const name = modName(relPath);
      if (seen.has(name)) return;
      seen.add(name);
      for (const d of kmods.deps.get(name)?.deps ?? []) visit(d);
      order.push({ name, relPath });
    };
    let missing = null;
    for (const spec of g.modules) {
      const name = norm(spec.replace(/\?$/, ""));
      if (kmods.builtin.has(name)) continue;
      const entry = kmods.deps.get(name);
      if (entry) visit(entry.path);
      else if (!spec.endsWith("?")) missing ??= name;
    }
    if (missing && !g.optional) throw new Error(`kernel module ${missing} (group ${g.name}) not found`);
    if (!missing) resolved.set(g.name, order);
  }
  return resolved;
}

// Copies a module into the initramfs uncompressed: busybox insmod cannot read .xz/.zst.
async function copyModule(src, dest) {
  if (src.endsWith(".ko.xz")) await $`xz -dc ${src} > ${dest}`;
  else if (src.endsWith(".ko.zst")) await $`zstd -qdc ${src} > ${dest}`;
  else if (src.endsWith(".ko.gz")) await $`gzip -dc ${src} > ${dest}`;
  else await fs.copyFile(src, dest);
}

async function buildInitramfs(root, kver, groups, initrdPath) {
  for (const d of ["bin", "dev", "etc", "lib/modules", "mnt", "proc", "run", "sys", "tmp"]) {
    await fs.mkdirp(path.join(root, d));
  }
  await fs.copyFile("/bin/busybox", path.join(root, "bin/busybox"));
  const applets = (await $`busybox --list`).stdout.split("\n").filter((a) => a && a !== "busybox");
  for (const a of applets) await fs.symlink("busybox", path.join(root, "bin", a));
  await fs.copyFile(path.join(recipeDir, "init.sh"), path.join(root, "init"));
  await fs.copyFile(path.join(recipeDir, "udhcpc.script"), path.join(root, "etc/udhcpc.script"));
  await fs.chmod(path.join(root, "init"), 0o755);
  await fs.chmod(path.join(root, "etc/udhcpc.script"), 0o755);

  const kmods = readModulesDep(kver);
  const resolved = resolveGroups(groups, kmods);
  for (const [group, mods] of resolved) {
    for (const m of mods) {
      const dest = path.join(root, "lib/modules", `${m.name}.ko`);
      if (!fs.existsSync(dest)) await copyModule(path.join(kmods.dir, m.relPath), dest);
    }
    const list = mods.map((m) => `${m.name}.ko ${m.name}\n`).join("");
    await fs.writeFile(path.join(root, "lib/modules", `${group}.list`), list);
  }
  // Uncompressed: TCG spends longer inflating an initramfs than loading a few more MiB.
  await $({ cwd: root })`find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > ${initrdPath}`;
  return resolved;
}

async function recipeHash(kver, bbver) {
  const h = createHash("sha256");
  const files = [fileURLToPath(import.meta.url), ...(await glob(`${recipeDir}/**/*`, { onlyFiles: true }))];
  for (const f of files.map((f) => path.resolve(f)).sort()) {
    h.update(`${path.relative(repoRoot, f)}\0`);
    h.update(await fs.readFile(f));
    h.update("\0");
  }
  h.update(`kernel ${kver}\0busybox ${bbver}\0cmdline ${CMDLINE}`);
  return h.digest("hex").slice(0, 16);
}

const kver = argv["kernel-version"] ? String(argv["kernel-version"]) : defaultKernel();
const vmlinuz = `/boot/vmlinuz-${kver}`;
if (!fs.existsSync(vmlinuz)) throw new Error(`${vmlinuz} not found`);
const version = await recipeHash(kver, await busyboxVersion());

if (readManifest(outDir)?.version === version) {
  console.log(`lab-test image ${version} (kernel ${kver}) is up to date in ${outDir}`);
  process.exit(0);
}

// Build beside the destination so the final rename stays on one filesystem.
await fs.mkdirp(path.dirname(outDir));
const tmp = `${outDir}.tmp-${process.pid}`;
const root = `${tmp}.root`;
try {
  await fs.remove(tmp);
  await fs.remove(root);
  await fs.mkdirp(tmp);
  const groups = parseModuleGroups(await fs.readFile(path.join(recipeDir, "modules.txt"), "utf8"));
  const resolved = await buildInitramfs(root, kver, groups, path.join(tmp, "initrd.img"));
  await fs.copyFile(vmlinuz, path.join(tmp, "vmlinuz"));
  await $`qemu-img create -q -f qcow2 ${path.join(tmp, "disk.qcow2")} 16M`;

  const configDrive = ["iso9660", "vfat", ...(resolved.has("9p") ? ["9p"] : [])];
  const manifest = {
    name: "lab-test",
    version,
    format: "qcow2",
    disk: "disk.qcow2",
    boot: { kernel: "vmlinuz", initrd: "initrd.img", cmdline: CMDLINE },
    fleet: false,
    guest: "lab-test",
    features: { configDrive },
    kernelVersion: kver,
    createdAt: new Date().toISOString(),
  };
  await installBundle(tmp, outDir, manifest);
  console.log(
    `built lab-test image ${version} (kernel ${kver}, config drives: ${configDrive.join(", ")}) in ${outDir}`,
  );
} finally {
  await fs.remove(tmp);
  await fs.remove(root);
}
