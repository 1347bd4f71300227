import { describe, expect, it } from "vitest";
import { parseUnitFile, serializeUnitFile } from "../../src/fleet/unit-file.js";
import { checkXFleet, validateTargetState, validateUnitName } from "../../src/fleet/xfleet.js";

describe("unit file parsing", () => {
  it("keeps sections, order, repeated keys and specifiers; drops comments", () => {
    const opts = parseUnitFile(
      "# comment\n[Unit]\nDescription=Kubernetes API Server\n; another\nAfter=etcd2.service\nAfter=flanneld.service\n\n[Service]\nExecStartPre=-/usr/bin/mkdir -p /opt/bin\nExecStart=/opt/bin/kube-apiserver --name=%n \\\n  --insecure-port=8080 \\\n  --v=2\n[X-Fleet]\nMachineMetadata=role=kubernetes\n",
    );
    expect(opts).toEqual([
      { section: "Unit", name: "Description", value: "Kubernetes API Server" },
      { section: "Unit", name: "After", value: "etcd2.service" },
      { section: "Unit", name: "After", value: "flanneld.service" },
      { section: "Service", name: "ExecStartPre", value: "-/usr/bin/mkdir -p /opt/bin" },
      {
        section: "Service",
        name: "ExecStart",
        value: "/opt/bin/kube-apiserver --name=%n    --insecure-port=8080    --v=2",
      },
      { section: "X-Fleet", name: "MachineMetadata", value: "role=kubernetes" },
    ]);
    expect(parseUnitFile(serializeUnitFile(opts))).toEqual(opts);
  });

  it("reports malformed lines with file and line number", () => {
    expect(() => parseUnitFile("Description=x\n", "a.service")).toThrow(/a.service:1: option outside/);
    expect(() => parseUnitFile("[Unit]\nno equals\n", "a.service")).toThrow(
      /a.service:2: expected KEY=VALUE/,
    );
    expect(() => parseUnitFile("[Unit\n", "a.service")).toThrow(/malformed section/);
  });
});

describe("X-Fleet rules and target states", () => {
  const rules = (x: string) =>
    checkXFleet(parseUnitFile(`[Service]\nExecStart=/bin/true\n[X-Fleet]\n${x}`), "u.service");

  it("accepts the tutorial's layouts", () => {
    expect(rules("Global=true\nMachineMetadata=role=kubernetes\n")).toMatchObject({
      global: true,
      machineMetadata: [{ key: "role", value: "kubernetes" }],
    });
    expect(rules("MachineOf=kube-apiserver.service\n").machineOf).toEqual(["kube-apiserver.service"]);
    expect(rules("Global=true\nConflicts=other.service\n").conflicts).toEqual(["other.service"]);
  });

  it("rejects invalid combinations, unknown and deprecated keys", () => {
    expect(() => rules("Global=true\nMachineOf=a.service\n")).toThrow(/Global=true cannot be combined/);
    expect(() => rules("Global=true\nMachineID=abc\n")).toThrow(/Global=true cannot be combined/);
    expect(() => rules("MachineID=abc\nMachineOf=a.service\n")).toThrow(/cannot be combined/);
    expect(() => rules("Bogus=1\n")).toThrow(/unknown \[X-Fleet\] option Bogus/);
    expect(() => rules("X-ConditionMachineOf=a.service\n")).toThrow(/deprecated/);
    expect(() => rules("MachineMetadata=role\n")).toThrow(/not key=value/);
    expect(() => rules("Global=maybe\n")).toThrow(/not a boolean/);
  });

  it("validates target states and unit names", () => {
    expect(validateTargetState("launched")).toBe("launched");
    expect(() => validateTargetState("started")).toThrow(/invalid target state/);
    for (const ok of ["a.service", "web@.service", "web@1.service", "kube-proxy.service"])
      expect(() => validateUnitName(ok)).not.toThrow();
    for (const bad of ["a", "a.conf", "../x.service", "a b.service"])
      expect(() => validateUnitName(bad)).toThrow();
  });
});
