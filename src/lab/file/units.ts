// Fleet unit files of a lab: the files in its units directory, parsed once, and the lab file's
// globs (`kube-*.service`) matched against their names the way `lab fleet` matches them.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { globToRegExp, isPairedTemplate } from "../../fleet/resolve-units.js";
import { parseUnitFile, type UnitOption } from "../../fleet/unit-file.js";
import { isUnitFileName, validateUnitName } from "../../fleet/xfleet.js";

export interface LocalUnit {
  name: string;
  file: string;
  options?: UnitOption[];
  /** Why the file cannot be used (bad name or syntax). */
  problem?: string;
}

/** The units a glob selects; a template beside a unit of its name is never selected (isPairedTemplate). */
export function matchUnits(glob: string, units: LocalUnit[]): LocalUnit[] {
  const re = globToRegExp(glob);
  const names = units.map((u) => u.name);
  return units.filter((u) => re.test(u.name) && !isPairedTemplate(u.name, names));
}

/** The unit files in `dir` (none when it does not exist), parsed. */
export async function readUnitsDir(dir: string): Promise<LocalUnit[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && isUnitFileName(e.name))
      .map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return Promise.all(
    names.sort().map(async (name): Promise<LocalUnit> => {
      const file = path.join(dir, name);
      try {
        validateUnitName(name);
        return { name, file, options: parseUnitFile(await readFile(file, "utf8"), file) };
      } catch (err) {
        return { name, file, problem: (err as Error).message };
      }
    }),
  );
}

/** The units the lab file's globs select, each once, in glob order. */
export function selectUnits(globs: string[], units: LocalUnit[]): LocalUnit[] {
  const out: LocalUnit[] = [];
  for (const g of globs) for (const u of matchUnits(g, units)) if (!out.includes(u)) out.push(u);
  return out;
}

/** The lab helper's fetch command in a unit (units/kube-*.service): `lab-kube fetch[-tgz] ARTIFACT …`. */
const MIRROR_FETCH = /(?:^|\s)-?\/opt\/lab\/bin\/lab-kube\s+fetch(?:-tgz)?\s+(\S+)/;

/** Mirror artifacts a unit fetches when it starts, so `lab up` can check the mirror has them first. */
export function mirrorArtifactsOf(unit: LocalUnit): string[] {
  return (unit.options ?? [])
    .filter((o) => o.section === "Service" && o.name.startsWith("Exec"))
    .flatMap((o) => MIRROR_FETCH.exec(o.value)?.slice(1, 2) ?? []);
}
