import { describe, expect, it } from "vitest";
import { buildQemuArgs } from "../../src/vm/qemu-args.js";

const base = {
  name: "node1",
  memoryMiB: 512,
  cpus: 2,
  accel: "tcg" as const,
  mac: "52:54:00:aa:bb:cc",
  tap: "lab-node1",
  disk: "/var/lib/lab/vms/node1/disk.qcow2",
  configDrive: { kind: "iso" as const, iso: "/var/lib/lab/vms/node1/config-2.iso" },
  files: {
    pid: "/run/lab/vms/node1/qemu.pid",
    qmp: "/run/lab/vms/node1/qmp.sock",
    console: "/run/lab/vms/node1/console.sock",
    serialLog: "/run/lab/vms/node1/serial.log",
  },
};

const valuesAfter = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe("qemu argv", () => {
  it("is headless with virtio disk and NIC on the tap, pidfile, QMP and a logged console socket", () => {
    const a = buildQemuArgs(base);
    expect(a[0]).toBe("qemu-system-x86_64");
    expect(valuesAfter(a, "-accel")).toEqual(["tcg"]);
    expect(a).not.toContain("-cpu");
    expect(valuesAfter(a, "-display")).toEqual(["none"]);
    expect(a).toContain("-nodefaults");
    expect(valuesAfter(a, "-pidfile")).toEqual([base.files.pid]);
    expect(valuesAfter(a, "-qmp")).toEqual([`unix:${base.files.qmp},server=on,wait=off`]);
    expect(valuesAfter(a, "-netdev")).toEqual(["tap,id=net0,ifname=lab-node1,script=no,downscript=no"]);
    expect(valuesAfter(a, "-device")).toContain("virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc");
    expect(valuesAfter(a, "-drive")).toEqual([
      `file=${base.disk},if=virtio,format=qcow2,cache=writeback,discard=unmap`,
      `file=${base.configDrive.iso},if=virtio,format=raw,readonly=on`,
    ]);
    expect(valuesAfter(a, "-chardev")[0]).toContain(`logfile=${base.files.serialLog}`);
    expect(a).not.toContain("-kernel");
  });

  it("uses KVM with the host CPU, 9p config drives and direct kernel boot when asked", () => {
    const a = buildQemuArgs({
      ...base,
      accel: "kvm",
      configDrive: { kind: "9p", dir: "/var/lib/lab/vms/node1/config-2" },
      boot: { kernel: "/k", initrd: "/i", cmdline: "console=ttyS0" },
    });
    expect(valuesAfter(a, "-cpu")).toEqual(["host"]);
    expect(valuesAfter(a, "-device")).toContain("virtio-9p-pci,fsdev=config2,mount_tag=config-2");
    expect(valuesAfter(a, "-fsdev")[0]).toMatch(/path=\/var\/lib\/lab\/vms\/node1\/config-2,.*readonly=on/);
    expect([valuesAfter(a, "-kernel"), valuesAfter(a, "-initrd"), valuesAfter(a, "-append")]).toEqual([
      ["/k"],
      ["/i"],
      ["console=ttyS0"],
    ]);
  });
});
