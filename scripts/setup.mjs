#!/usr/bin/env zx
// Host setup for lab: installs the Debian packages lab and its tests use, builds the TypeScript,
// and builds the offline test image. Idempotent and quiet when nothing is missing.
// Run as root through `npm run setup` (which installs the npm dependencies first).
import { $, fs, path } from "zx";

$.verbose = false;
const root = path.resolve(import.meta.dirname, "..");

// Every Debian package lab runs or its tests and image builds use.
const PACKAGES = [
  "qemu-system-x86", // qemu-system-x86_64 (VMs, KVM probe)
  "qemu-utils", // qemu-img (overlays, image formats)
  "openvswitch-switch", // ovsdb-server, ovs-vswitchd, ovs-vsctl
  "dnsmasq-base", // DHCP + DNS per lab network
  "iptables", // NAT and forwarding rules (nft or legacy backend)
  "iproute2", // ip: addresses, links, namespaces in tests
  "genisoimage", // config-2 ISO9660 drives
  "xorriso", // tests read the drives back; image builds
  "dosfstools", // mkfs.vfat: vfat config-2 drives
  "mtools", // mcopy: fill vfat drives without mounting
  "busybox-static", // the test guest's userland; udhcpc in network tests
  "linux-image-cloud-amd64", // small kernel for the test guest
  "linux-image-amd64", // generic kernel: has 9p for 9p config drives
  "cpio", // initramfs of the test guest
  "kmod", // module dependency data for the test guest
  "bzip2", // Flatcar images are bzip2-compressed
  "openssh-client", // lab vm ssh, lab's key pair
  "curl", // tests ask fleet's and etcd's HTTP APIs from inside their namespaces
  "procps", // ps/pgrep in tests and diagnostics
  "iputils-ping", // ping in network tests
  "ca-certificates", // HTTPS image and artifact downloads
  "debootstrap", // the lab-flatcar guest image's Debian root (scripts/build-flatcar-image.mjs)
  "e2fsprogs", // mkfs.ext4 -d: the lab-flatcar image's root filesystem without loop mounts
  "containernetworking-plugins", // real CNI plugins (bridge, host-local, portmap) that run lab's pod network config
  "shellcheck", // npm run lint checks every shell script (scripts/shellcheck.mjs)
  "zsh", // the unit test checks the generated zsh completion script
  "fish", // the unit test runs the generated fish completion script
  "chromium", // the web page's test and npm run demo's screenshot (driven by playwright-core)
  "etcd-client", // etcdctl: the HA test lists and writes the lab's etcd cluster (test/integration/ha.test.ts)
];

function missingPackages() {
  return PACKAGES.filter((pkg) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const format = "${Status}";
    const r = $.sync({ nothrow: true })`dpkg-query -W -f=${format} ${pkg}`;
    return !String(r.stdout).includes("install ok installed");
  });
}

if (process.getuid?.() !== 0) {
  console.error("setup: run as root (it installs Debian packages)");
  process.exit(1);
}

const missing = missingPackages();
if (missing.length > 0) {
  console.log(`setup: installing ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await $({ env })`apt-get update -qq`;
  await $({ env })`apt-get install -y -qq --no-install-recommends ${missing}`;
}

await $({ cwd: root })`npx tsc -p tsconfig.json`;
await $({ cwd: root, stdio: "inherit" })`npx zx scripts/build-test-image.mjs`;
// The Flatcar-shaped guest (cached by recipe). It needs Flatcar's coreos-cloudinit build (README:
// where to get it); without it only the fleet tests need the image, so setup goes on for the demo
// — but never in CI.
const fleetBin = process.env.LAB_FLEET_BIN || path.resolve(root, "../shared/bin");
if (fs.existsSync(path.join(fleetBin, "coreos-cloudinit")) || process.env.CI === "true") {
  await $({ cwd: root, stdio: "inherit" })`npx zx scripts/build-flatcar-image.mjs`;
  // The same guest with Debian's haproxy and keepalived, for the lb role: only for the opt-in HA
  // test (LAB_TEST_HA=1 npm run setup), because its own debootstrap adds ~18 minutes to setup.
  if (process.env.LAB_TEST_HA) {
    await $({ cwd: root, stdio: "inherit" })`npx zx scripts/build-flatcar-image.mjs --variant lb`;
  }
} else {
  console.log(
    `setup: no coreos-cloudinit in ${fleetBin} (set LAB_FLEET_BIN): skipping the lab-flatcar test image`,
  );
}
if (missing.length > 0) console.log("setup: done");
