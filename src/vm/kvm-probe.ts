// Whether KVM really runs a guest. An openable /dev/kvm is not proof: on some hosts it exists and
// even runs real-mode code, yet a Linux kernel hangs. So the probe boots a real kernel without a
// root disk: it prints its banner and panics within a second or two, and -no-reboot ends qemu.
// No banner in time means KVM is not usable and VMs use TCG.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Host } from "../host/host.js";

export interface AccelProbe {
  kvmDevice: boolean;
  kvmWorks: boolean;
  accel: "kvm" | "tcg";
  detail: string;
}

/** The newest kernel in /boot, or one given by LAB_PROBE_KERNEL. */
export function findProbeKernel(): string | undefined {
  if (process.env.LAB_PROBE_KERNEL) return process.env.LAB_PROBE_KERNEL;
  const kernels = (existsSync("/boot") ? readdirSync("/boot") : [])
    .filter((f) => f.startsWith("vmlinuz-"))
    .sort();
  const last = kernels[kernels.length - 1];
  return last ? path.join("/boot", last) : undefined;
}

export function probeArgv(accel: "kvm" | "tcg", kernel: string): string[] {
  return [
    "qemu-system-x86_64",
    "-accel",
    accel,
    ...(accel === "kvm" ? ["-cpu", "host"] : []),
    "-m",
    "128",
    "-nodefaults",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-kernel",
    kernel,
    "-append",
    "console=ttyS0 panic=-1 root=/dev/lab-probe-none",
  ];
}

/** qemu's own last words on stderr ("Could not access KVM kernel module: ..."), for the detail. */
export function qemuSaid(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length > 0 ? `; qemu said: ${lines.slice(-2).join(" / ")}` : "";
}

export async function probeAccel(host: Host, timeoutMs = 5000): Promise<AccelProbe> {
  const kvmDevice = existsSync("/dev/kvm");
  if (!kvmDevice) return { kvmDevice, kvmWorks: false, accel: "tcg", detail: "/dev/kvm does not exist" };
  const kernel = findProbeKernel();
  if (!kernel) {
    return {
      kvmDevice,
      kvmWorks: false,
      accel: "tcg",
      detail: "no kernel in /boot to test KVM with; using TCG",
    };
  }
  const r = await host
    .run(probeArgv("kvm", kernel), { timeoutMs, allowFailure: true })
    .catch((err: Error) => ({ stdout: "", stderr: err.message }));
  const works = /Linux version/.test(r.stdout);
  return {
    kvmDevice,
    kvmWorks: works,
    accel: works ? "kvm" : "tcg",
    detail: works
      ? `a test kernel booted under KVM`
      : `/dev/kvm exists but a test kernel did not boot under KVM within ${timeoutMs} ms; VMs use TCG (software emulation)${qemuSaid(r.stderr)}`,
  };
}
