import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatFieldPath } from "../../src/field-problems.js";
import { desiredLab } from "../../src/lab/file/desired.js";
import { parseLabText } from "../../src/lab/file/load.js";
import { labJsonSchema } from "../../src/lab/file/schema.js";

const root = path.resolve(import.meta.dirname, "../..");

const base = `
networks:
  - name: default
    subnet: 172.16.11.0/24
images:
  - name: lab-test
    import: ../.cache/images/lab-test
machines:
  - name: etcd
    role: etcd
`;

function problem(text: string): string {
  try {
    parseLabText(text, "lab.yaml");
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

describe("lab file schema", () => {
  it("accepts the shipped lab.yaml and examples/demo.yaml", async () => {
    for (const f of ["lab.yaml", "examples/demo.yaml"]) {
      const lab = parseLabText(await readFile(path.join(root, f), "utf8"), f);
      expect(lab.networks[0]!.subnet).toBe("172.16.11.0/24");
    }
    const lab = parseLabText(await readFile(path.join(root, "lab.yaml"), "utf8"), "lab.yaml");
    const d = desiredLab(lab, path.join(root, "lab.yaml"), "/root");
    expect(d.machines.map((m) => [m.name, m.role, m.ip])).toEqual([
      ["etcd", "etcd", "172.16.11.10"],
      ["node-1", "kubernetes", undefined],
      ["node-2", "kubernetes", undefined],
      ["node-3", "kubernetes", undefined],
    ]);
    expect(lab.networks[0]!.cluster).toMatchObject({ podNetwork: "10.0.0.0/16", nodePorts: "30000-32767" });
    expect(lab.images[0]).toEqual({ name: "flatcar-stable", pull: "flatcar-stable" });
  });

  it("names the line of bad YAML", () => {
    expect(problem("networks: [\n  - name: x")).toMatch(/^lab\.yaml: not valid YAML: .*line \d+/);
    expect(problem("")).toMatch(/the file is empty/);
  });

  it("names the field of an unknown key, at any depth", () => {
    expect(problem(`${base}colour: blue\n`)).toBe("lab.yaml: colour: unknown key");
    expect(problem(base.replace("role: etcd", "role: etcd\n    colour: blue"))).toBe(
      "lab.yaml: machines[0].colour: unknown key",
    );
    expect(
      problem(base.replace("subnet: 172.16.11.0/24", "subnet: 172.16.11.0/24\n    cluster: {pods: x}")),
    ).toMatch(/networks\[0\]\.cluster\.pods: unknown key/);
  });

  it("names the field of a wrong type", () => {
    expect(problem(base.replace("role: etcd", "role: etcd\n    count: three"))).toBe(
      "lab.yaml: machines[0].count: expected a positive integer",
    );
    expect(problem(base.replace("role: etcd", "role: etcd\n  - group: w\n    role: k\n    count: 0"))).toBe(
      "lab.yaml: machines[1].count: expected a positive integer",
    );
    expect(problem(base.replace("role: etcd", "role: 7"))).toMatch(/machines\[0\]\.role: expected a role/);
    expect(problem(base.replace("subnet: 172.16.11.0/24", "subnet: big"))).toMatch(
      /networks\[0\]\.subnet: expected an IPv4 CIDR/,
    );
    expect(problem("networks: {}\nimages: []\n")).toMatch(/networks: expected a list of networks/);
    expect(problem(base.replace("role: etcd", "role: etcd\n    memory: lots"))).toMatch(
      /machines\[0\]\.memory: expected MiB/,
    );
    expect(problem(base.replace("role: etcd", "role: etcd\n    memory: 0M"))).toMatch(
      /machines\[0\]\.memory: expected MiB/,
    );
  });

  it("reads memory sizes as --memory does", () => {
    for (const [written, mib] of [
      ["512", 512],
      ["512M", 512],
      ["512MiB", 512],
      ["2G", 2048],
      ["2GB", 2048],
    ] as const) {
      const lab = parseLabText(
        base.replace("role: etcd", `role: etcd\n    memory: "${written}"`),
        "lab.yaml",
      );
      expect(desiredLab(lab, "/x/lab.yaml", "/root").machines[0]!.memoryMiB).toBe(mib);
    }
  });

  it("lists every problem, each with its field", () => {
    const msg = problem(base.replace("role: etcd", "role: etcd\n    count: two\n    cpus: x"));
    expect(msg).toMatch(/^lab\.yaml: \d+ problems\n/);
    expect(msg).toContain("machines[0].cpus: expected a positive integer");
  });

  it("takes fixed addresses only as canonical dotted quads", () => {
    for (const odd of ["172.16.11.024", "172.16.11.0x14", "172.16.11.256", "172.16.011.20"]) {
      const text = base.replace("role: etcd", `role: etcd\n    ip: "${odd}"`);
      expect(problem(text), odd).toMatch(/machines\[0\]\.ip: expected an IPv4 address/);
    }
  });

  it("checks combinations: name or group, ip only for one machine, import or pull", () => {
    expect(
      problem(base.replace("name: etcd", "group: e").replace("role: etcd", "role: etcd\n    name: x")),
    ).toMatch(/machines\[0\]: give exactly one of name/);
    expect(
      problem(
        base
          .replace("name: etcd", "group: e")
          .replace("role: etcd", "role: etcd\n    count: 2\n    ip: 172.16.11.10"),
      ),
    ).toMatch(/machines\[0\]\.ip: a fixed ip needs count 1/);
    expect(problem(base.replace("import: ../.cache/images/lab-test", "pull: flatcar-stable"))).toMatch(
      /images\[0\]\.pull: a pulled image is stored under its catalog name/,
    );
    expect(problem(`${base}artifacts:\n  - name: fleetd\n    url: https://example.org/fleetd\n`)).toMatch(
      /artifacts\[0\]\.sha256: a downloaded artifact needs its sha256/,
    );
  });

  it("formats field paths", () => {
    expect(formatFieldPath(["machines", 1, "count"])).toBe("machines[1].count");
    expect(formatFieldPath([])).toBe("(top level)");
  });

  it("lab.schema.json is generated from the zod schema (run scripts/gen-schema.mjs)", async () => {
    const onDisk = JSON.parse(await readFile(path.join(root, "lab.schema.json"), "utf8"));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(labJsonSchema())));
    expect(onDisk.additionalProperties).toBe(false);
  });
});
