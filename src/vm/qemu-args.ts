// Builds qemu's argv for a VM. Pure: every path comes from the caller, nothing is probed here.

export interface QemuArgsInput {
  name: string;
  memoryMiB: number;
  cpus: number;
  accel: "kvm" | "tcg";
  mac: string;
  tap: string;
  disk: string;
  configDrive: { kind: "iso"; iso: string } | { kind: "9p"; dir: string };
  boot?: { kernel: string; initrd?: string; cmdline: string };
  files: { pid: string; qmp: string; console: string; serialLog: string };
}

export function buildQemuArgs(v: QemuArgsInput): string[] {
  const args = [
    "qemu-system-x86_64",
    "-name",
    `${v.name},process=lab-${v.name}`,
    "-machine",
    "pc",
    "-accel",
    v.accel,
    ...(v.accel === "kvm" ? ["-cpu", "host"] : []),
    "-m",
    String(v.memoryMiB),
    "-smp",
    String(v.cpus),
    "-nodefaults",
    "-display",
    "none",
    "-pidfile",
    v.files.pid,
    "-qmp",
    `unix:${v.files.qmp},server=on,wait=off`,
    // The serial console is a socket for `lab vm console` and is logged to a file at the same time.
    "-chardev",
    `socket,id=console0,path=${v.files.console},server=on,wait=off,logfile=${v.files.serialLog},logappend=on`,
    "-serial",
    "chardev:console0",
    "-drive",
    `file=${v.disk},if=virtio,format=qcow2,cache=writeback,discard=unmap`,
    "-netdev",
    `tap,id=net0,ifname=${v.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=net0,mac=${v.mac}`,
    ...configDriveArgs(v.configDrive),
  ];
  if (v.boot) {
    args.push("-kernel", v.boot.kernel);
    if (v.boot.initrd) args.push("-initrd", v.boot.initrd);
    args.push("-append", v.boot.cmdline);
  }
  return args;
}

function configDriveArgs(c: QemuArgsInput["configDrive"]): string[] {
  if (c.kind === "iso") return ["-drive", `file=${c.iso},if=virtio,format=raw,readonly=on`];
  // The way the original tutorial booted CoreOS: a read-only 9p share tagged config-2.
  return [
    "-fsdev",
    `local,id=config2,path=${c.dir},security_model=none,readonly=on`,
    "-device",
    "virtio-9p-pci,fsdev=config2,mount_tag=config-2",
  ];
}
