// Which Debian package provides each external program lab runs. The missing-tool error names it.

export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  "ovs-vsctl": "openvswitch-switch",
  "ovs-appctl": "openvswitch-switch",
  "ovsdb-server": "openvswitch-switch",
  "ovsdb-tool": "openvswitch-switch",
  "ovs-vswitchd": "openvswitch-switch",
  dnsmasq: "dnsmasq-base",
  iptables: "iptables",
  "iptables-legacy": "iptables",
  "iptables-nft": "iptables",
  ip: "iproute2",
  xorriso: "xorriso",
  genisoimage: "genisoimage",
  "mkfs.vfat": "dosfstools",
  mcopy: "mtools",
  busybox: "busybox-static",
  modprobe: "kmod",
  "ssh-keygen": "openssh-client",
  ssh: "openssh-client",
  bunzip2: "bzip2",
  bzip2: "bzip2",
  lbzip2: "lbzip2",
  cp: "coreutils",
};

/** Where the tools live when PATH is minimal (service managers, `ip netns exec`). */
export const TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function packageFor(tool: string): string {
  return TOOL_PACKAGES[tool] ?? tool;
}
