// One rule for "same VM": `vm create` on an existing name and `lab up`'s planner compare through
// specDifferences. Before, `vm create` compared only role, image, memory, cpus and network, so
// asking for another restart policy, config drive or --ip got "unchanged" from the daemon while
// `lab up` called the same difference a conflict.
import { describe, expect, it } from "vitest";
import { type SpecShape, specDifferences } from "../../src/vm/same-spec.js";

const have: SpecShape = {
  role: "etcd",
  image: "lab-test",
  network: "default",
  memoryMiB: 256,
  cpus: 1,
  restart: "no",
  configDrive: "iso",
  ip: "172.16.11.10",
};

describe("specDifferences", () => {
  it("finds nothing when every field asked for matches", () => {
    expect(specDifferences(have, { ...have })).toEqual([]);
  });

  it("does not compare a field the asker leaves out", () => {
    expect(specDifferences(have, { role: "etcd", ip: undefined, memoryMiB: undefined })).toEqual([]);
  });

  it.each([
    ["restart", { restart: "always" }, "restart", "no", "always"],
    ["config drive", { configDrive: "9p" }, "config drive", "iso", "9p"],
    ["address", { ip: "172.16.11.20" }, "ip", "172.16.11.10", "172.16.11.20"],
    ["memory", { memoryMiB: 1024 }, "memory (MiB)", 256, 1024],
    ["role", { role: "kubernetes" }, "role", "etcd", "kubernetes"],
  ] as const)("counts another %s as a difference", (_n, want, what, h, w) => {
    expect(specDifferences(have, want)).toEqual([{ what, have: h, want: w }]);
  });

  it("lists every difference, in a fixed order", () => {
    const d = specDifferences(have, { cpus: 2, image: "other", network: "n2" });
    expect(d.map((x) => x.what)).toEqual(["image", "network", "cpus"]);
  });

  it("a VM without an address differs from one asked for at a fixed address", () => {
    const { ip: _ip, ...noIp } = have;
    expect(specDifferences(noIp, { ip: "172.16.11.10" })).toEqual([
      { what: "ip", have: undefined, want: "172.16.11.10" },
    ]);
  });
});
