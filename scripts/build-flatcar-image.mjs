#!/usr/bin/env zx
// Builds the "lab-flatcar" guest image bundle: a Debian trixie guest shaped like Flatcar where lab
// depends on it (systemd 257, /usr read-only, core user, containerd with CRI, coreos-cloudinit
// applying the config-2 drive at every boot) and, like Flatcar, without etcd or fleet: VMs get
// those from the lab mirror. The bundle also carries mirror/etcd, the etcd binary of trixie's
// etcd-server .deb (never installed in the image), for tests to put into the mirror.
// Recipe: images/lab-flatcar/ (see its README.md). Runs as root; needs the Debian archive.
//
//   npx zx scripts/build-flatcar-image.mjs [--out DIR] [--variant lb]
//
//   --variant lb               "lab-flatcar-lb": the same image plus Debian's haproxy and keepalived,
//                              for lab's `lb` role (Flatcar ships neither; see README, "HA topology")
//
//   LAB_FLEET_BIN=DIR          coreos-cloudinit[-v1.14.0] (default ../shared/bin)
//   LAB_CLOUDINIT_BUILD=coreos  use CoreOS's coreos-cloudinit v1.14.0 instead of Flatcar's build
//   LAB_DEBIAN_MIRROR=URL       Debian archive (default http://deb.debian.org/debian)
//
// The bundle (DIR/manifest.json, disk.qcow2, vmlinuz, initrd.img) is cached by a hash of the
// recipe, this script and the cloud-init build: when DIR/manifest.json
// carries that version nothing is rebuilt. It is built beside DIR and renamed into place.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import lockfile from "proper-lockfile";
import { installBundle, readManifest } from "./lib/bundle.mjs";

$.verbose = false;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const recipeDir = path.join(repoRoot, "images/lab-flatcar");
const overlayDir = path.join(recipeDir, "rootfs");
// Variants add packages to the same recipe; each is its own bundle under its own name.
const VARIANTS = { "": [], lb: ["haproxy", "keepalived"] };
const variant = argv.variant ? String(argv.variant) : "";
if (!(variant in VARIANTS)) throw new Error(`--variant ${variant}: expected lb or none`);
const imageName = variant ? `lab-flatcar-${variant}` : "lab-flatcar";
// Real path: mounts inside the build root are found by their path in /proc/self/mountinfo, which
// never goes through a symbolic link (.cache may be one).
const outDir = (() => {
  const dir = argv.out ? path.resolve(String(argv.out)) : path.join(repoRoot, `.cache/images/${imageName}`);
  fs.mkdirpSync(path.dirname(dir));
  return path.join(fs.realpathSync(path.dirname(dir)), path.basename(dir));
})();
const binDir = path.resolve(process.env.LAB_FLEET_BIN || path.join(repoRoot, "..", "shared", "bin"));
const cloudinitBuild = process.env.LAB_CLOUDINIT_BUILD || "flatcar";
const mirror = process.env.LAB_DEBIAN_MIRROR || "http://deb.debian.org/debian";
const securityMirror = mirror.replace(/\/debian\/?$/, "/debian-security");
const SUITE = "trixie";
// The guest disk's virtual size; the ext4 filesystem fills it and grows with a larger overlay.
const DISK_SIZE = "8G";
const CMDLINE = "root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 net.ifnames=0 biosdevname=0 quiet";
// Where debootstrap and apt keep downloaded packages between builds.
const debCache = path.join(repoRoot, ".cache/debs", SUITE);

const CLOUDINIT_FILES = { flatcar: "coreos-cloudinit", coreos: "coreos-cloudinit-v1.14.0" };
if (!(cloudinitBuild in CLOUDINIT_FILES)) {
  throw new Error(`LAB_CLOUDINIT_BUILD=${cloudinitBuild}: expected "flatcar" or "coreos"`);
}
const binaries = {
  "coreos-cloudinit": path.join(binDir, CLOUDINIT_FILES[cloudinitBuild]),
};
// Programs Flatcar does not ship and lab installs from its mirror: the image must not have them.
const NOT_IN_IMAGE = [
  "usr/bin/etcd",
  "usr/bin/fleetd",
  "usr/bin/fleetctl",
  "usr/lib/systemd/system/etcd2.service",
];
// The etcd the tests put into the mirror: trixie's etcd-server (3.5.16, Flatcar stable's etcd).
const ETCD_PACKAGE = "etcd-server";

const started = Date.now();
const progress = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

const sha256 = async (file) =>
  createHash("sha256")
    .update(await fs.readFile(file))
    .digest("hex");

async function recipeFiles() {
  // The README describes the recipe; editing it does not change the image.
  const files = await glob(`${recipeDir}/**/*`, { onlyFiles: true, dot: true });
  return files.map((f) => path.resolve(f)).filter((f) => f !== path.join(recipeDir, "README.md"));
}

async function recipeHash() {
  const h = createHash("sha256");
  for (const f of [fileURLToPath(import.meta.url), ...(await recipeFiles())].sort()) {
    const st = await fs.stat(f);
    h.update(`${path.relative(repoRoot, f)}\0${st.mode & 0o111 ? "x" : "-"}\0`);
    h.update(await fs.readFile(f));
    h.update("\0");
  }
  for (const [name, file] of Object.entries(binaries)) h.update(`${name} ${await sha256(file)}\0`);
  h.update(`cloudinit ${cloudinitBuild}\0suite ${SUITE}\0mirror ${mirror}\0size ${DISK_SIZE}\0`);
  h.update(`cmdline ${CMDLINE}\0variant ${variant}\0`);
  return h.digest("hex").slice(0, 16);
}

// ---- preflight ----

if (process.getuid?.() !== 0) {
  console.error("build-flatcar-image: run as root (debootstrap, chroot and mounts need it)");
  process.exit(1);
}
for (const [name, file] of Object.entries(binaries)) {
  if (!fs.existsSync(file)) {
    console.error(
      `build-flatcar-image: ${name}: ${file} not found (set LAB_FLEET_BIN to the directory holding it)`,
    );
    process.exit(1);
  }
}

const version = await recipeHash();
if (readManifest(outDir)?.version === version) {
  console.log(`${imageName} image ${version} (cloud-init: ${cloudinitBuild}) is up to date in ${outDir}`);
  process.exit(0);
}

const have = async (tool) => (await $`command -v ${tool}`.nothrow()).exitCode === 0;
if (!(await have("debootstrap"))) {
  progress("installing debootstrap (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const r = await $({ env })`apt-get install -y -qq --no-install-recommends debootstrap`.nothrow();
  if (r.exitCode !== 0) {
    await $({ env })`apt-get update -qq`.nothrow();
    await $({ env })`apt-get install -y -qq --no-install-recommends debootstrap`;
  }
}
for (const tool of ["mkfs.ext4", "qemu-img", "chroot", "mount", "umount"]) {
  if (!(await have(tool))) throw new Error(`${tool} not found (npm run setup installs what is needed)`);
}

// ---- mounts and processes inside the build root: always undone ----

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
function mountsUnder(dir) {
  const decode = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)));
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => decode(l.split(" ")[4]))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Kills processes whose root directory is inside dir (left behind by a package's scripts). */
function killChrootProcesses(dir) {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let root;
    try {
      root = fs.readlinkSync(`/proc/${pid}/root`);
    } catch {
      continue;
    }
    if (root === dir || root.startsWith(`${dir}/`)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    }
  }
}

function unmountAll(dir) {
  killChrootProcesses(dir);
  for (const m of mountsUnder(dir)) {
    const quiet = { nothrow: true, stdio: "ignore" };
    if ($.sync(quiet)`umount ${m}`.exitCode !== 0) $.sync(quiet)`umount -l ${m}`;
  }
}

/** Removes a build directory, but never while anything is mounted inside it. */
async function removeBuildDir(dir) {
  if (!fs.existsSync(dir)) return;
  unmountAll(dir);
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`refusing to remove ${dir}: still mounted: ${left.join(", ")}`);
  await fs.remove(dir);
}

// Leftovers of builds that died (their pid is gone) next to this bundle.
await fs.mkdirp(path.dirname(outDir));
for (const entry of await fs.readdir(path.dirname(outDir))) {
  const m = entry.match(/^(.*)\.(?:tmp|old)-(\d+)(?:\.rootfs)?$/);
  if (!m || m[1] !== path.basename(outDir) || Number(m[2]) === process.pid) continue;
  if (fs.existsSync(`/proc/${m[2]}`)) continue;
  await removeBuildDir(path.join(path.dirname(outDir), entry));
}

const tmp = `${outDir}.tmp-${process.pid}`;
const root = `${tmp}.rootfs`;
const logPath = `${outDir}.build.log`;
const log = fs.openSync(logPath, "w");
// Command output goes to the build log; the terminal gets one progress line per step.
const sh = $({ stdio: ["ignore", log, log] });
const CHROOT_ENV = [
  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
  "LC_ALL=C",
  "DEBIAN_FRONTEND=noninteractive",
  "DEBCONF_NONINTERACTIVE_SEEN=true",
];
const inRoot = (args, opts = {}) =>
  $({ stdio: ["ignore", log, log], ...opts })`chroot ${root} /usr/bin/env -i ${CHROOT_ENV} ${args}`;

let releaseCache = null;
let cleaningUp = false;
async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  unmountAll(root);
  await releaseCache?.().catch(() => {});
  await removeBuildDir(root);
  await removeBuildDir(tmp);
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    console.error(`build-flatcar-image: ${sig}: cleaning up`);
    cleanup().finally(() => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));
  });
}

/** Copies images/lab-flatcar/rootfs/ into the root: files only (existing directories keep their modes). */
async function copyOverlay() {
  const files = await glob(`${overlayDir}/**/*`, { onlyFiles: true, dot: true });
  for (const src of files.sort()) {
    const rel = path.relative(overlayDir, src);
    const dest = path.join(root, rel);
    await fs.mkdirp(path.dirname(dest));
    await fs.copyFile(src, dest);
    const exec = (await fs.stat(src)).mode & 0o111;
    await fs.chmod(dest, exec ? 0o755 : 0o644);
    await fs.chown(dest, 0, 0);
  }
  return files.length;
}

function packageList() {
  return fs
    .readFileSync(path.join(recipeDir, "packages.txt"), "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

async function kernelVersion() {
  const kernels = (await fs.readdir(path.join(root, "boot"))).filter((f) => f.startsWith("vmlinuz-"));
  if (kernels.length !== 1)
    throw new Error(`expected one kernel in the image's /boot, found: ${kernels.join(", ")}`);
  return kernels[0].slice("vmlinuz-".length);
}

/** The etcd-server .deb apt just downloaded into the shared package cache (its Filename's base). */
async function etcdDebFile() {
  const show = (await $`chroot ${root} apt-cache show --no-all-versions ${ETCD_PACKAGE}`).stdout;
  const name = show.match(/^Filename: (.+)$/m)?.[1];
  const deb = name && path.join(debCache, path.basename(name));
  if (!deb || !fs.existsSync(deb))
    throw new Error(`${ETCD_PACKAGE}: no downloaded .deb (${name ?? "no Filename"})`);
  return deb;
}

async function dpkgVersion(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const format = "${Version}";
  const r = await $`chroot ${root} dpkg-query -W -f=${format} ${pkg}`.nothrow();
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

try {
  await removeBuildDir(tmp);
  await removeBuildDir(root);
  await fs.mkdirp(tmp);
  await fs.mkdirp(debCache);
  progress(`building ${imageName} ${version} (cloud-init: ${cloudinitBuild}); log: ${logPath}`);

  // debootstrap and apt share the package cache with other builds (the other cloud-init
  // variant, another checkout's bundle): one at a time, until the downloads are done.
  releaseCache = await lockfile.lock(debCache, {
    stale: 30_000,
    retries: { retries: 1200, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
    onCompromised: () => {},
  });
  progress(`debootstrap --variant=minbase ${SUITE} (${mirror})`);
  await sh`debootstrap --variant=minbase --cache-dir=${debCache} ${SUITE} ${root} ${mirror}`;

  // Nothing a package installs may start in the build root, and apt gets the updates too.
  await fs.writeFile(path.join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  await fs.writeFile(
    path.join(root, "etc/apt/sources.list"),
    [
      `deb ${mirror} ${SUITE} main`,
      `deb ${mirror} ${SUITE}-updates main`,
      `deb ${securityMirror} ${SUITE}-security main`,
      "",
    ].join("\n"),
  );
  const overlayCount = await copyOverlay();
  progress(`copied ${overlayCount} recipe files into the root`);

  await sh`mount -t proc proc ${path.join(root, "proc")}`;
  await sh`mount -t sysfs -o ro sysfs ${path.join(root, "sys")}`;
  const archives = path.join(root, "var/cache/apt/archives");
  await fs.mkdirp(archives);
  await sh`mount --bind ${debCache} ${archives}`;

  const packages = [...packageList(), ...VARIANTS[variant]];
  progress(`apt-get install ${packages.length} packages (kernel, systemd, containerd, openssh, ...)`);
  const aptGet = [
    "apt-get",
    "-y",
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
  ];
  await inRoot(["apt-get", "update", "-q"]);
  // Updates first: once systemd-resolved is in, the root's resolv.conf points at its stub.
  await inRoot([...aptGet, "dist-upgrade"]);
  await inRoot([...aptGet, "install", "--no-install-recommends", ...packages]);
  progress(`downloading ${ETCD_PACKAGE} (for the mirror, not the image)`);
  await inRoot([...aptGet, "install", "--download-only", "--no-install-recommends", ETCD_PACKAGE]);
  const etcdDeb = await etcdDebFile();
  // Keep the downloads for the next build; the image does not need them.
  await sh`umount ${archives}`;
  await releaseCache();
  releaseCache = null;

  progress("installing coreos-cloudinit");
  for (const [name, src] of Object.entries(binaries)) {
    const dest = path.join(root, "usr/bin", name);
    await fs.copyFile(src, dest);
    await fs.chmod(dest, 0o755);
  }
  const cloudinitVersion = (await $`${binaries["coreos-cloudinit"]} --version`.nothrow()).stdout.trim();
  await fs.writeFile(
    path.join(root, "usr/lib/flatcar/lab-release"),
    [
      `LAB_FLATCAR_VERSION=${version}`,
      `LAB_FLATCAR_CLOUDINIT=${cloudinitBuild}`,
      `COREOS_CLOUDINIT="${cloudinitVersion}"`,
      "",
    ].join("\n"),
  );

  progress("configuring (users, units, machine-id, host keys)");
  await inRoot(["/bin/sh", "-s"], {
    input: await fs.readFile(path.join(recipeDir, "configure.sh"), "utf8"),
    stdio: ["pipe", log, log],
  });

  // The initramfs must hold what mounting /dev/vda needs (MODULES=list, see modules.d/lab-flatcar).
  // Built-in drivers (trixie's kernel has virtio_pci built in) need no module.
  const kver0 = await kernelVersion();
  const listed = (await $`chroot ${root} lsinitramfs /boot/initrd.img-${kver0}`).stdout;
  const builtin = await fs.readFile(path.join(root, "usr/lib/modules", kver0, "modules.builtin"), "utf8");
  for (const mod of ["virtio_pci", "virtio_blk", "ext4", "9pnet_virtio"]) {
    const re = new RegExp(`/${mod}\\.ko`);
    if (!re.test(listed) && !re.test(builtin)) throw new Error(`the initramfs lacks ${mod}.ko`);
  }

  const components = {};
  for (const pkg of [
    "systemd",
    "containerd",
    "runc",
    "openssh-server",
    "linux-image-amd64",
    ...VARIANTS[variant],
  ]) {
    components[pkg] = await dpkgVersion(pkg);
  }
  for (const f of NOT_IN_IMAGE) {
    if (fs.existsSync(path.join(root, f)))
      throw new Error(`the image must not contain /${f} (Flatcar has none)`);
  }
  await fs.remove(path.join(root, "usr/sbin/policy-rc.d"));
  unmountAll(root);

  const kver = await kernelVersion();
  await fs.copyFile(path.join(root, "boot", `vmlinuz-${kver}`), path.join(tmp, "vmlinuz"));
  await fs.copyFile(path.join(root, "boot", `initrd.img-${kver}`), path.join(tmp, "initrd.img"));

  // etcd for the lab mirror, beside the image: extracted from the package, never unpacked into it.
  await fs.mkdirp(path.join(tmp, "mirror"));
  await sh`sh -c ${'dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/bin/etcd > "$2"'} sh ${etcdDeb} ${path.join(tmp, "mirror/etcd")}`;
  await fs.chmod(path.join(tmp, "mirror/etcd"), 0o755);
  const etcdVersion = (await $`dpkg-deb -f ${etcdDeb} Version`).stdout.trim();

  const usedMiB = Number((await $`du -sm --apparent-size ${root}`).stdout.split("\t")[0]);
  progress(`mkfs.ext4 -d (${usedMiB} MiB of files, ${DISK_SIZE} disk)`);
  const raw = path.join(tmp, "disk.raw");
  await sh`mkfs.ext4 -q -F -L ${imageName.slice(0, 16)} -m 1 -E root_owner=0:0 -d ${root} ${raw} ${DISK_SIZE}`;
  await sh`e2fsck -f -n ${raw}`;
  await removeBuildDir(root);

  progress("qemu-img convert -c -O qcow2");
  const disk = path.join(tmp, "disk.qcow2");
  await sh`qemu-img convert -c -O qcow2 ${raw} ${disk}`;
  await fs.remove(raw);

  const manifest = {
    name: imageName,
    version,
    format: "qcow2",
    disk: "disk.qcow2",
    boot: { kernel: "vmlinuz", initrd: "initrd.img", cmdline: CMDLINE },
    fleet: false,
    guest: "lab-flatcar",
    features: { configDrive: ["iso9660", "9p"] },
    cloudinit: cloudinitBuild,
    kernelVersion: kver,
    components: {
      ...components,
      "coreos-cloudinit": cloudinitVersion,
      "etcd-server (mirror/etcd)": etcdVersion,
    },
    createdAt: new Date().toISOString(),
  };
  await installBundle(tmp, outDir, manifest);
  const sizeMiB = (fs.statSync(path.join(outDir, "disk.qcow2")).size / 2 ** 20).toFixed(0);
  progress(
    `built ${imageName} ${version} (kernel ${kver}, cloud-init ${cloudinitBuild}, disk.qcow2 ${sizeMiB} MiB) in ${outDir}`,
  );
} catch (e) {
  console.error(`build-flatcar-image: failed: ${e.message ?? e}\n  build log: ${logPath}`);
  const tail = fs.readFileSync(logPath, "utf8").trimEnd().split("\n").slice(-25).join("\n");
  if (tail) console.error(tail);
  process.exitCode = 1;
} finally {
  await cleanup();
  fs.closeSync(log);
}
