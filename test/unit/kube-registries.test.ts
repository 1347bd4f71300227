// lab.yaml's registries rendered as containerd hosts.toml files (containerd/containerd
// docs/hosts.md: server, [host."URL"] with capabilities, skip_verify and a header table), and
// added to the kubernetes machines' cloud-config with credentials read from a file on the host.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FieldProblem } from "../../src/field-problems.js";
import { basicAuth, registryFiles, renderHostsToml } from "../../src/kube/registries.js";
import type { DesiredLab } from "../../src/lab/file/desired.js";
import { addRegistries } from "../../src/lab/file/registries.js";
import { LabFileSchema } from "../../src/lab/file/schema.js";

describe("renderHostsToml", () => {
  it("puts mirrors before the registry, which alone may be pushed to", () => {
    expect(
      renderHostsToml({ host: "docker.io", mirrors: ["https://mirror.lab:5000"], insecure: false }),
    ).toBe(
      [
        "# docker.io: written by lab from lab.yaml registries",
        'server = "https://registry-1.docker.io"',
        "",
        '[host."https://mirror.lab:5000"]',
        '  capabilities = ["pull", "resolve"]',
        "",
        '[host."https://registry-1.docker.io"]',
        '  capabilities = ["pull", "resolve", "push"]',
        "",
      ].join("\n"),
    );
  });

  it("speaks plain HTTP to an insecure registry, skips TLS verification of its https mirrors, sends credentials", () => {
    const toml = renderHostsToml(
      { host: "registry.lab:5000", mirrors: ["https://cache.lab"], insecure: true },
      basicAuth("pull:s3cret\n"),
    );
    expect(toml).toContain('server = "http://registry.lab:5000"');
    expect(toml).toContain(
      '[host."https://cache.lab"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n',
    );
    expect(toml).toContain(
      '[host."http://registry.lab:5000"]\n  capabilities = ["pull", "resolve", "push"]\n',
    );
    expect(toml).not.toMatch(/http:\/\/registry\.lab:5000"\]\n[^[]*skip_verify/);
    expect(toml).toContain(
      `[host."http://registry.lab:5000".header]\n  authorization = "Basic ${Buffer.from("pull:s3cret").toString("base64")}"`,
    );
  });

  it("puts each registry's file under /etc/containerd/certs.d/<host>/", () => {
    const files = registryFiles([{ host: "registry.lab:5000", mirrors: [], insecure: true }], new Map());
    expect(files.map((f) => f.path)).toEqual(["/etc/containerd/certs.d/registry.lab:5000/hosts.toml"]);
  });

  it("refuses credentials that are not one USER:PASSWORD line", () => {
    expect(() => basicAuth("justauser")).toThrow(/USER:PASSWORD/);
    expect(() => basicAuth("a:b\nc:d\n")).toThrow(/USER:PASSWORD/);
  });
});

describe("registries in lab.yaml", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lab-registries-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("rejects a host with a scheme and a mirror that is not a URL", () => {
    const r = LabFileSchema.safeParse({
      networks: [{ name: "default", subnet: "172.16.11.0/24" }],
      images: [{ name: "x", import: "x" }],
      registries: [{ host: "https://docker.io", mirrors: ["mirror.lab"] }],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual([
      "registries.0.host",
      "registries.0.mirrors.0",
    ]);
  });

  it("adds the files to kubernetes machines only, credentials read from the host file", async () => {
    writeFileSync(path.join(dir, "cred"), "pull:s3cret\n");
    const desired = {
      file: path.join(dir, "lab.yaml"),
      machines: [
        { name: "etcd", role: "etcd" },
        {
          name: "node-1",
          role: "kubernetes",
          cloudConfig: { write_files: [{ path: "/etc/motd", content: "hi" }] },
        },
      ],
    } as unknown as DesiredLab;
    const problems: FieldProblem[] = [];
    await addRegistries(
      desired,
      [{ host: "registry.lab:5000", mirrors: [], insecure: true, credentials: "cred" }],
      dir,
      problems,
    );
    expect(problems).toEqual([]);
    expect(desired.machines[0]!.cloudConfig).toBeUndefined();
    const files = (desired.machines[1]!.cloudConfig as { write_files: { path: string; content: string }[] })
      .write_files;
    expect(files.map((f) => f.path)).toEqual([
      "/etc/containerd/certs.d/registry.lab:5000/hosts.toml",
      "/etc/motd",
    ]);
    expect(files[0]!.content).toContain('authorization = "Basic ');
  });

  it("reports a credentials file it cannot read, by field", async () => {
    const desired = { file: path.join(dir, "lab.yaml"), machines: [] } as unknown as DesiredLab;
    const problems: FieldProblem[] = [];
    await addRegistries(
      desired,
      [{ host: "r.lab", mirrors: [], insecure: false, credentials: "missing" }],
      dir,
      problems,
    );
    expect(problems).toEqual([
      { path: "registries[0].credentials", message: `cannot read ${dir}/missing: ENOENT` },
    ]);
  });
});
