// The import graph of src/ runs one way: from the CLI down to the host, never back up, and has no
// cycles. README's layout section lists the same layers. Type-only imports (`import type`) are
// left out: they vanish when compiled, so they neither load code nor make a start-up cycle.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const src = path.resolve(import.meta.dirname, "../../src");

/** Lowest first. A folder may import from its own layer's folder or from a lower layer. */
const LAYERS: string[][] = [
  ["(top)"],
  ["host"],
  ["state"],
  // The domains may import one another, as long as they make no cycle (checked below).
  ["ssh", "etcd", "fleet", "kube", "image", "cloudconfig", "mirror", "net", "vm", "doctor"],
  ["api"],
  ["web"],
  ["daemon"],
  ["client"],
  ["lab"],
  ["cli"],
];
const DOMAINS = new Set(LAYERS[3]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** The relative modules a file loads: static imports and re-exports that are not type-only, and dynamic imports. */
function valueImports(text: string): string[] {
  const found: string[] = [];
  const statics = /^\s*(?:import|export)\s+(?!type\b)(?:[^;]*?\s+from\s+)?["'](\.[^"']+)["']/gms;
  for (const m of text.matchAll(statics)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)) found.push(m[1]!);
  return found;
}

const folderOf = (file: string) => {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0]! : "(top)";
};
const layerOf = (folder: string) => LAYERS.findIndex((l) => l.includes(folder));

function graph() {
  const edges = new Map<string, string[]>();
  for (const file of tsFiles(src)) {
    const targets = valueImports(readFileSync(file, "utf8")).map((spec) =>
      path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"),
    );
    edges.set(file, targets);
  }
  return edges;
}

/** Strongly connected components of more than one node (or a self-loop): the cycles. */
function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe("import direction", () => {
  const files = graph();
  const rel = (f: string) => path.relative(src, f);

  it("reads value imports and skips type-only ones", () => {
    const text = [
      'import type { A } from "./a.js";',
      'import { b, type C } from "./b.js";',
      'export { d } from "../d.js";',
      'export type { E } from "./e.js";',
      'import "./side-effect.js";',
      'const m = await import("./lazy.js");',
      'import { readFile } from "node:fs";',
    ].join("\n");
    expect(valueImports(text)).toEqual(["./b.js", "../d.js", "./side-effect.js", "./lazy.js"]);
  });

  it("names every folder of src/ in a layer", () => {
    const folders = new Set([...files.keys()].map(folderOf));
    expect([...folders].filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it("never imports a higher layer", () => {
    const upward: string[] = [];
    for (const [file, targets] of files) {
      for (const t of targets) {
        const from = folderOf(file);
        const to = folderOf(t);
        if (from !== to && layerOf(to) > layerOf(from)) upward.push(`${rel(file)} -> ${rel(t)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no cycle between the domains", () => {
    const folders = new Map<string, string[]>();
    for (const [file, targets] of files) {
      const from = folderOf(file);
      if (!DOMAINS.has(from)) continue;
      const list = folders.get(from) ?? [];
      for (const t of targets) if (DOMAINS.has(folderOf(t)) && folderOf(t) !== from) list.push(folderOf(t));
      folders.set(from, list);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it("has no cycle between files", () => {
    expect(cycles(files).map((c) => c.map(rel))).toEqual([]);
  });
});
