// Which accelerator VMs use: KVM when a test kernel really boots under it, TCG otherwise.
// The probe runs once per run directory (a few seconds when KVM hangs) and is cached there.
import path from "node:path";
import type { Host } from "../host/host.js";
import { readText, SingleFlight, writeIfChanged } from "../state/atomic.js";
import { probeAccel } from "./kvm-probe.js";

/** One probe per run directory; its answer is kept for the life of the process. */
const probes = new SingleFlight<"kvm" | "tcg">({ keepResults: true });

export function resolveAccel(
  host: Host,
  runDir: string,
  want: "auto" | "kvm" | "tcg",
): Promise<"kvm" | "tcg"> {
  const forced = process.env.LAB_ACCEL;
  if (forced === "kvm" || forced === "tcg") return Promise.resolve(forced);
  if (want !== "auto") return Promise.resolve(want);
  const file = path.join(runDir, "accel.json");
  return probes.run(file, async () => {
    const cached = await readText(file);
    if (cached) {
      const accel = (JSON.parse(cached) as { accel?: string }).accel;
      if (accel === "kvm" || accel === "tcg") return accel;
    }
    const probe = await probeAccel(host);
    await writeIfChanged(file, `${JSON.stringify(probe)}\n`);
    return probe.accel;
  });
}
