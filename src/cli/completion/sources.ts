// Where `lab __complete` finds names: labd over its socket without autostarting it, cloud-config/
// for roles, units/ for unit names. Every source answers [] instead of failing.
import path from "node:path";
import type { NameSources } from "./candidates.js";

async function fromLabd<T>(route: string, pick: (x: T) => string): Promise<string[]> {
  try {
    const { LabClient } = await import("../../client/client.js");
    const list = await new LabClient().call<T[]>("GET", route, undefined, { noAutostart: true });
    return list.map(pick);
  } catch {
    return [];
  }
}

export function labSources(): NameSources {
  return {
    vms: () => fromLabd<{ name: string }>("/v1/vms", (v) => v.name),
    networks: () => fromLabd<{ network: { name: string } }>("/v1/networks", (n) => n.network.name),
    images: () => fromLabd<{ name: string }>("/v1/images", (i) => i.name),
    catalog: () => fromLabd<{ name: string }>("/v1/image-catalog", (c) => c.name),
    mirror: async () => {
      try {
        const { LabClient } = await import("../../client/client.js");
        const s = await new LabClient().call<{ artifacts: { name: string }[] }>(
          "GET",
          "/v1/mirror",
          undefined,
          {
            noAutostart: true,
          },
        );
        return s.artifacts.map((a) => a.name);
      } catch {
        return [];
      }
    },
    roles: async () => {
      const { defaultTemplatesDir, listRoles } = await import("../../cloudconfig/render.js");
      return listRoles(defaultTemplatesDir()).catch(() => []);
    },
    units: async (dir) => {
      const { readUnitsDir } = await import("../../lab/file/units.js");
      const { repoRoot } = await import("../../state/repo.js");
      const units = await readUnitsDir(path.resolve(dir ?? path.join(repoRoot(), "units"))).catch(() => []);
      return units.map((u) => u.name);
    },
  };
}
