// Where `lab __complete` finds names: labd over its socket without autostarting it, cloud-config/
// for roles, units/ for unit names. Every source answers [] instead of failing.
import path from "node:path";
import type { LabApi } from "../../client/api.js";
import type { NameSources } from "./candidates.js";

/** Names from labd through the typed client, never starting labd for it; [] when it does not answer. */
async function fromLabd<T>(ask: (api: LabApi) => Promise<T[]>, pick: (x: T) => string): Promise<string[]> {
  try {
    const { labApi } = await import("../../client/api.js");
    const { LabClient } = await import("../../client/client.js");
    return (await ask(labApi(new LabClient(undefined, { noAutostart: true })))).map(pick);
  } catch {
    return [];
  }
}

export function labSources(): NameSources {
  return {
    vms: () =>
      fromLabd(
        (api) => api.vms.list(),
        (v) => v.name,
      ),
    networks: () =>
      fromLabd(
        (api) => api.networks.list(),
        (n) => n.network.name,
      ),
    images: () =>
      fromLabd(
        (api) => api.images.list(),
        (i) => i.name,
      ),
    catalog: () =>
      fromLabd(
        (api) => api.images.catalog(),
        (c) => c.name,
      ),
    mirror: () =>
      fromLabd(
        async (api) => (await api.mirror.status()).artifacts,
        (a) => a.name,
      ),
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
