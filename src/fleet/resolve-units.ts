// Turns `lab fleet` arguments into unit files: names and globs resolve against the units
// directory (units/ by default), paths are read as given. An instance (foo@1.service) takes its
// options from its own file when there is one, otherwise from its template (foo@.service).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { NotFoundError, UsageError } from "../errors.js";
import { parseUnitFile, type UnitOption } from "./unit-file.js";
import { checkXFleet, isUnitFileName, validateUnitName } from "./xfleet.js";

export interface ResolvedUnit {
  name: string;
  file: string;
  options: UnitOption[];
}

export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (const ch of glob) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export function templateOf(name: string): string | undefined {
  const m = /^([^@]+)@([^.]+)(\.[a-z]+)$/.exec(name);
  return m ? `${m[1]}@${m[3]}` : undefined;
}

/** foo@.service -> foo.service: the single unit of that name. */
export function singleOf(template: string): string | undefined {
  const m = /^([^@]+)@(\.[a-z]+)$/.exec(template);
  return m ? `${m[1]}${m[2]}` : undefined;
}

/**
 * A template beside a unit of its name (kube-apiserver@.service beside kube-apiserver.service) is
 * that unit's form for several instances: a glob selects the single unit, never that template
 * (fleet cannot launch a template); instances are asked for by name (kube-apiserver@1.service), or
 * launched by `lab up` behind an API VIP.
 */
export function isPairedTemplate(name: string, names: readonly string[]): boolean {
  const single = singleOf(name);
  return single !== undefined && names.includes(single);
}

async function load(name: string, file: string): Promise<ResolvedUnit> {
  const text = await readFile(file, "utf8");
  const options = parseUnitFile(text, path.basename(file));
  checkXFleet(options, path.basename(file));
  return { name, file, options };
}

export async function resolveUnits(args: string[], unitsDir: string): Promise<ResolvedUnit[]> {
  if (args.length === 0)
    throw new UsageError("no units given", { hint: "e.g. lab fleet start 'kube-*.service'" });
  const files = (await readdir(unitsDir).catch(() => [] as string[])).filter(isUnitFileName).sort();
  const out = new Map<string, ResolvedUnit>();
  for (const arg of args) {
    if (arg.includes("/")) {
      const name = path.basename(arg);
      validateUnitName(name);
      out.set(name, await load(name, arg));
      continue;
    }
    if (/[*?]/.test(arg)) {
      const re = globToRegExp(arg);
      const matches = files.filter((f) => re.test(f) && !isPairedTemplate(f, files));
      if (matches.length === 0) {
        throw new NotFoundError(`no unit in ${unitsDir} matches ${arg}`, {
          hint: `units there: ${files.join(", ") || "none"}`,
        });
      }
      for (const m of matches) out.set(m, await load(m, path.join(unitsDir, m)));
      continue;
    }
    validateUnitName(arg);
    const own = files.includes(arg) ? arg : undefined;
    const template = templateOf(arg);
    const source = own ?? (template && files.includes(template) ? template : undefined);
    if (!source)
      throw new NotFoundError(`unit ${arg} not found in ${unitsDir}`, {
        hint: "pass a path, or --units-dir",
      });
    out.set(arg, await load(arg, path.join(unitsDir, source)));
  }
  return [...out.values()];
}
