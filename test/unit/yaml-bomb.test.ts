// Aliases expand every time they are walked: a few hundred bytes of YAML must not become
// gigabytes in lab up, in --plan or in the cloud-config writer.
import { describe, expect, it } from "vitest";
import { dumpYaml11 } from "../../src/cloudconfig/yaml11.js";
import { parseLabText } from "../../src/lab/file/load.js";
import { exceedsNodes, parseYamlData } from "../../src/yaml-data.js";

function bomb(levels: number, indent = "    "): string {
  const lines = [`${indent}a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let i = 1; i < levels; i++)
    lines.push(`${indent}a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  return lines.join("\n");
}

// write_files items may carry keys lab does not know (they pass to the guest), so the schema
// alone does not stop this.
const lab = (bombText: string) => `
networks:
  - name: default
    subnet: 172.16.11.0/24
images:
  - name: lab-test
    import: ../images/lab-test
machines:
  - name: etcd
    role: etcd
    cloudConfig:
      write_files:
        - path: /etc/x
          bomb:
${bombText}
`;

describe("YAML alias expansion", () => {
  it("refuses a lab file whose cloudConfig expands to billions of values, quickly", () => {
    const text = lab(bomb(10, "            "));
    expect(text.length).toBeLessThan(2000);
    // Expanding it would take billions of values: without the bound this never ends (the test's timeout).
    expect(() => parseLabText(text, "lab.yaml")).toThrow(/lab\.yaml: expands to more than 100000 values/);
  });

  it("takes aliases that stay small, and refuses a recursive one", () => {
    expect(parseYamlData(`x:\n${bomb(3)}\n`, "small.yaml")).toMatchObject({ x: { a2: expect.any(Array) } });
    expect(() => parseYamlData("a: &x [1, *x]\n", "r.yaml")).toThrow(/expands to more than/);
  });

  it("counts long strings by size, and the YAML 1.1 writer refuses a huge expansion", () => {
    expect(exceedsNodes({ a: "x".repeat(200 * 1024 * 1024) })).toBe(true);
    let shared: unknown = ["x"];
    for (let i = 0; i < 30; i++) shared = [shared, shared];
    expect(() => dumpYaml11({ write_files: shared })).toThrow(/cloud-config expands to more than/);
    expect(dumpYaml11({ hostname: "etcd" }).text).toBe('hostname: "etcd"\n');
  });
});
