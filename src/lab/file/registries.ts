// lab.yaml's `registries:` on the kubernetes machines: credentials read on the host (with the
// rights of whoever runs `lab up`), rendered as containerd hosts.toml files (src/kube/registries.ts)
// and added to each kubernetes machine's cloud-config, before the user's own extra cloud-config.
import { readFile } from "node:fs/promises";
import { deepMerge } from "../../cloudconfig/tree.js";
import type { FieldProblem } from "../../field-problems.js";
import { basicAuth, registryFiles } from "../../kube/registries.js";
import { type DesiredLab, resolveFrom } from "./desired.js";
import type { LabFile } from "./schema.js";

export async function addRegistries(
  desired: DesiredLab,
  regs: LabFile["registries"],
  home: string,
  problems: FieldProblem[],
): Promise<void> {
  if (regs.length === 0) return;
  const dir = desired.file.replace(/\/[^/]*$/, "") || ".";
  const auth = new Map<string, string>();
  for (const [i, r] of regs.entries()) {
    if (r.credentials === undefined) continue;
    const file = resolveFrom(dir, home, r.credentials);
    const path = `registries[${i}].credentials`;
    try {
      auth.set(r.host, basicAuth(await readFile(file, "utf8")));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({
        path,
        message: code ? `cannot read ${file}: ${code}` : `${file}: ${(err as Error).message}`,
      });
    }
  }
  const ours = {
    write_files: registryFiles(regs, auth).map((f) => ({ ...f, permissions: "0600", owner: "root" })),
  };
  for (const m of desired.machines) {
    if (m.role !== "kubernetes") continue;
    m.cloudConfig =
      m.cloudConfig === undefined ? ours : (deepMerge(ours, m.cloudConfig) as Record<string, unknown>);
  }
}
