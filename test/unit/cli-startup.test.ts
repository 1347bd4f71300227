// CLI start-up (issue 13, item 6; measured by `npm run bench:cli`): what `lab --help` and the listing
// commands load before they run, read off the static imports as the compiler emits them (type-only
// imports vanish; `await import()` is not followed). zod alone costs more than bare Node's start.
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.join(import.meta.dirname, "../../src");
/** Packages none of these start-ups may load: each is a noticeable share of a start. */
const HEAVY = [
  "zod",
  "execa",
  "js-yaml",
  "ws",
  "ipaddr.js",
  "write-file-atomic",
  "proper-lockfile",
  "cli-progress",
];

const seen = new Map<string, string[]>();

function staticImports(file: string): string[] {
  const known = seen.get(file);
  if (known) return known;
  const out = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const specs: string[] = [];
  for (const m of out.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gms))
    specs.push((m[1] ?? m[2])!);
  seen.set(file, specs);
  return specs;
}

/** Every file and package reached from `entries` by static imports. */
function loads(...entries: string[]): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
      else if (!spec.startsWith("node:")) packages.add(spec);
    }
  };
  for (const e of entries) visit(path.join(SRC, e));
  return { files: [...files].map((f) => path.relative(SRC, f)).sort(), packages: [...packages].sort() };
}

describe("CLI start-up", () => {
  it("lab --help loads the command declarations and commander, nothing else", () => {
    const l = loads("cli/main.ts");
    expect(l.packages).toEqual([]); // commander is required (cli/commander.ts), not imported
    expect(
      l.files.every((f) => f.startsWith("cli/")),
      l.files.join(" "),
    ).toBe(true);
  });

  it.each([
    ["vm list", "cli/commands/vm.ts"],
    ["net list", "cli/commands/net.ts"],
    ["image list", "cli/commands/image.ts"],
    ["mirror list", "cli/commands/mirror.ts"],
    ["ls", "cli/commands/ls.ts"],
  ])("lab %s loads no schema library, process runner or YAML parser", (_, command) => {
    const l = loads("cli/main.ts", command);
    expect(
      l.packages.filter((p) => HEAVY.includes(p)),
      l.files.join(" "),
    ).toEqual([]);
  });
});
