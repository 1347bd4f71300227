// README's layout section names every directory and top-level file of src/, so the map a newcomer
// reads matches the tree.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

describe("README layout", () => {
  it("names every entry of src/", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    const start = readme.indexOf("Layout (imports run one way");
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf("Tests wait on conditions", start));
    const missing = readdirSync(path.join(root, "src")).filter((e) => !section.includes(`\`src/${e}\``));
    expect(missing).toEqual([]);
  });
});
