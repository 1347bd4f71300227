// `lab doctor`: what this host can do. Each check says what it found and, when it failed,
// the command that fixes it.
import { existsSync } from "node:fs";
import type { Host } from "../host/host.js";
import { iptablesBinary, parseIptablesBackend } from "../host/iptables.js";
import { hostOvsUsable, kernelDatapathAvailable } from "../host/ovs.js";
import { ipForwarding } from "../host/sysctl.js";
import { TOOL_PACKAGES } from "../host/tools.js";
import { probeAccel } from "../vm/kvm-probe.js";

export interface Check {
  name: string;
  ok: boolean;
  /** Informational checks never fail the doctor (e.g. TCG instead of KVM). */
  required: boolean;
  detail: string;
  fix?: string;
}

const BINARIES: [string, string[]][] = [
  ["qemu-system-x86_64", ["--version"]],
  ["qemu-img", ["--version"]],
  ["ovs-vsctl", ["--version"]],
  ["ovsdb-server", ["--version"]],
  ["ovs-vswitchd", ["--version"]],
  ["dnsmasq", ["--version"]],
  ["iptables", ["--version"]],
  ["ip", ["-V"]],
  ["genisoimage", ["-version"]],
  ["ssh-keygen", ["-V"]],
];

async function binaryCheck(host: Host, tool: string, args: string[]): Promise<Check> {
  try {
    const r = await host.run([tool, ...args], { allowFailure: true, timeoutMs: 5000 });
    const version =
      `${r.stdout}\n${r.stderr}`
        .split("\n")
        .find((l) => /\d+\.\d+/.test(l))
        ?.trim() ?? "version unknown";
    return { name: tool, ok: true, required: true, detail: version };
  } catch {
    return {
      name: tool,
      ok: false,
      required: true,
      detail: "not found",
      fix: `apt-get install ${TOOL_PACKAGES[tool] ?? tool}`,
    };
  }
}

export async function runDoctor(host: Host): Promise<Check[]> {
  const checks = await Promise.all(BINARIES.map(([t, a]) => binaryCheck(host, t, a)));
  const isRoot = process.getuid?.() === 0;
  checks.push({
    name: "root",
    ok: isRoot,
    required: true,
    detail: isRoot ? "running as root" : "not root: bridges, taps and iptables need root",
    fix: isRoot ? undefined : "sudo lab ...",
  });
  const accel = await probeAccel(host);
  checks.push({
    name: "kvm",
    ok: accel.kvmWorks,
    required: false,
    detail: `${accel.detail}; accelerator: ${accel.accel}`,
    fix: accel.kvmWorks
      ? undefined
      : "enable virtualization (or nested virtualization) for this host; TCG works meanwhile, only slower",
  });
  const kernelDp = kernelDatapathAvailable();
  checks.push({
    name: "ovs-datapath",
    ok: true,
    required: false,
    detail: `${kernelDp ? "kernel (system) datapath" : "openvswitch module not loaded: userspace (netdev) datapath"}; ${hostOvsUsable() ? "using the host's Open vSwitch" : "labd runs a private ovsdb-server + ovs-vswitchd"}`,
    fix: kernelDp ? undefined : "modprobe openvswitch   (optional: faster than the userspace datapath)",
  });
  const ipt = await host.run([iptablesBinary(), "--version"], { allowFailure: true }).catch(() => undefined);
  const backend = ipt ? parseIptablesBackend(ipt.stdout) : "unknown";
  checks.push({
    name: "iptables-backend",
    ok: ipt !== undefined,
    required: true,
    detail: ipt ? `${ipt.stdout.trim()} (${backend})` : "iptables not found",
    fix: ipt ? undefined : "apt-get install iptables",
  });
  const fwd = await ipForwarding().catch(() => false);
  checks.push({
    name: "ip-forwarding",
    ok: fwd,
    required: false,
    detail: fwd ? "net.ipv4.ip_forward=1" : "net.ipv4.ip_forward=0 (lab net up turns it on)",
    fix: fwd ? undefined : "sysctl -w net.ipv4.ip_forward=1",
  });
  checks.push({
    name: "tun",
    ok: existsSync("/dev/net/tun"),
    required: true,
    detail: existsSync("/dev/net/tun") ? "/dev/net/tun present" : "/dev/net/tun missing: no tap devices",
    fix: "modprobe tun",
  });
  return checks;
}
