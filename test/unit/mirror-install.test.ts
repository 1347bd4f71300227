import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import {
  INSTALL_UNIT,
  imageRunsUnits,
  mirrorInstallExtra,
  roleArtifacts,
  roleUnitNames,
  templateArtifacts,
} from "../../src/cloudconfig/mirror-install.js";
import {
  type CloudConfigInput,
  defaultTemplatesDir,
  renderCloudConfig,
} from "../../src/cloudconfig/render.js";

const SHA = "2546f04f448d3f58fe642cad2519a9695686de052937e0ce7b83845f7de1f351";
const SHA2 = "0b2f5d3c1f5a0e7e8d4c7b6a59483726150f0e1d2c3b4a59687766554433221a";
const install = {
  gateway: "172.16.11.1",
  port: 8080,
  artifacts: [
    { name: "etcd", sha256: SHA },
    { name: "fleetd", sha256: SHA2 },
  ],
};

function input(role: string, extra?: Record<string, unknown>): CloudConfigInput {
  return {
    name: "etcd",
    role,
    ip: "172.16.11.10",
    prefix: 24,
    gateway: "172.16.11.1",
    dns: "172.16.11.1",
    domain: "lab",
    etcdEndpoint: "http://172.16.11.10:2379",
    mirrorUrl: "http://172.16.11.1:8080",
    // Hostile values elsewhere in the input must stay values next to the merged extra.
    sshKeys: ['ssh-ed25519 AAAA "me"@lab\n  write_files: []', "# {{name}}"],
    extra,
  };
}

type Unit = { name: string; command?: string; content?: string };
type Parsed = {
  ssh_authorized_keys: string[];
  write_files: { path: string; permissions: string; content: string }[];
  coreos: { units: Unit[] };
};

describe("programs installed from the mirror", () => {
  it("adds one digest-checked install unit and a checksum file per artifact", async () => {
    const text = await renderCloudConfig(defaultTemplatesDir(), input("etcd", mirrorInstallExtra(install)));
    const tree = yaml.load(text) as Parsed;
    expect(tree.write_files.filter((f) => f.path.startsWith("/etc/lab/artifacts/"))).toEqual([
      {
        path: "/etc/lab/artifacts/etcd.sha256",
        permissions: "0644",
        content: `${SHA}  /opt/bin/etcd.download\n`,
      },
      {
        path: "/etc/lab/artifacts/fleetd.sha256",
        permissions: "0644",
        content: `${SHA2}  /opt/bin/fleetd.download\n`,
      },
    ]);
    const installer = tree.coreos.units.find((u) => u.name === INSTALL_UNIT)!.content!;
    expect(installer).toContain("--output /opt/bin/%i.download http://172.16.11.1:8080/%i\n");
    expect(installer).toContain(
      "ExecStart=/usr/bin/sha256sum --check --strict /etc/lab/artifacts/%i.sha256\n",
    );
    expect(installer.indexOf("sha256sum")).toBeLessThan(installer.indexOf("/usr/bin/mv -f"));
    // The lab-owned units run the installed programs and require their install first.
    const etcd = tree.coreos.units.find((u) => u.name === "lab-etcd.service")!;
    expect(etcd.command).toBe("start");
    expect(etcd.content).toContain("Requires=lab-install@etcd.service\n");
    expect(etcd.content).toContain("ExecStart=/opt/bin/etcd --enable-v2=true\n");
    const fleet = tree.coreos.units.find((u) => u.name === "lab-fleet.service")!;
    expect(fleet.content).toContain("Requires=lab-install@fleetd.service\n");
    expect(fleet.content).toContain("ExecStart=/opt/bin/fleetd\n");
    // Nothing of CoreOS's etcd2/fleet units is left to fail on Flatcar.
    const names = tree.coreos.units.map((u) => u.name);
    expect(names.filter((n) => /^(etcd2|etcd-member|fleet)\.(service|socket)$/.test(n))).toEqual([]);
    expect(tree.ssh_authorized_keys).toEqual(input("etcd").sshKeys);
  });

  it("refuses values that could escape into a unit file or a command", () => {
    const hostile = [
      { gateway: "172.16.11.1\nExecStart=/bin/sh" },
      { gateway: "172.16.11.1 http://evil" },
      { gateway: "evil.example" },
      { port: 0 },
      { port: 8080.5 },
      { artifacts: [{ name: "fleetd\nExecStart=/bin/sh", sha256: SHA }] },
      { artifacts: [{ name: "../fleetd", sha256: SHA }] },
      { artifacts: [{ name: "fleetd?x", sha256: SHA }] },
      { artifacts: [{ name: "fleetd", sha256: `${SHA}\nExecStart=/bin/sh` }] },
      { artifacts: [{ name: "fleetd", sha256: SHA.toUpperCase() }] },
      { artifacts: [{ name: "fleetd", sha256: "0" }] },
    ];
    for (const h of hostile)
      expect(() => mirrorInstallExtra({ ...install, ...h }), JSON.stringify(h)).toThrow();
  });

  it("is wanted on every guest that runs units, whether or not it has fleet", () => {
    expect(imageRunsUnits({ guest: "flatcar" })).toBe(true);
    expect(imageRunsUnits({ guest: "lab-flatcar" })).toBe(true);
    expect(imageRunsUnits({})).toBe(true);
    expect(imageRunsUnits({ guest: "lab-test" })).toBe(false);
  });

  it("knows what each role installs and reports, includes read", async () => {
    expect(await roleArtifacts(defaultTemplatesDir(), "etcd")).toEqual(["etcd", "fleetd"]);
    expect(await roleArtifacts(defaultTemplatesDir(), "kubernetes")).toEqual(["fleetd"]);
    expect(await roleUnitNames(defaultTemplatesDir(), "kubernetes")).toContain("lab-hostkeys.service");
    expect(templateArtifacts({ coreos: { units: [{ name: "etcd2.service", command: "start" }] } })).toEqual(
      [],
    );
    expect(templateArtifacts({ hostname: "x" })).toEqual([]);
    expect(
      templateArtifacts({
        coreos: { units: [{ name: "a.service", content: "[Unit]\nRequires=lab-install@x.service\n" }] },
      }),
    ).toEqual(["x"]);
  });
});
