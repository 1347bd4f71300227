import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import {
  FLEET_INSTALL_UNIT,
  fleetInstallExtra,
  imageNeedsFleetd,
  roleUsesFleet,
  templateUsesFleet,
} from "../../src/cloudconfig/fleet-install.js";
import {
  type CloudConfigInput,
  defaultTemplatesDir,
  renderCloudConfig,
} from "../../src/cloudconfig/render.js";

const SHA = "2546f04f448d3f58fe642cad2519a9695686de052937e0ce7b83845f7de1f351";
const install = { gateway: "172.16.11.1", port: 8080, artifact: "fleetd", sha256: SHA };

function input(role: string, extra?: Record<string, unknown>): CloudConfigInput {
  return {
    name: "node1",
    role,
    ip: "172.16.11.11",
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

describe("fleet install from the mirror", () => {
  it("adds a digest-checked install unit, fleet.socket and a fleet.service running /opt/bin/fleetd", async () => {
    const text = await renderCloudConfig(
      defaultTemplatesDir(),
      input("kubernetes", fleetInstallExtra(install)),
    );
    const tree = yaml.load(text) as Parsed;
    expect(tree.write_files.filter((f) => f.path === "/etc/lab/fleetd.sha256")).toEqual([
      { path: "/etc/lab/fleetd.sha256", permissions: "0644", content: `${SHA}  /opt/bin/fleetd.download\n` },
    ]);
    const units = tree.coreos.units.filter((u) => u.name !== "containerd.service");
    expect(units.map((u) => u.name)).toEqual([
      "fleet.service",
      FLEET_INSTALL_UNIT,
      "fleet.socket",
      "fleet.service",
    ]);
    // The template still starts fleet; the unit it starts is the one written below.
    expect(units[0]).toEqual({ name: "fleet.service", command: "start" });
    const installer = units[1]!.content!;
    expect(installer).toContain("--output /opt/bin/fleetd.download http://172.16.11.1:8080/fleetd\n");
    expect(installer).toContain("ExecStart=/usr/bin/sha256sum --check --strict /etc/lab/fleetd.sha256\n");
    expect(installer.indexOf("sha256sum")).toBeLessThan(installer.indexOf("/usr/bin/mv -f"));
    const fleet = units[3]!.content!;
    expect(fleet).toContain("ExecStart=/opt/bin/fleetd\n");
    expect(fleet).toContain(`Requires=${FLEET_INSTALL_UNIT}\n`);
    expect(tree.ssh_authorized_keys).toEqual(input("etcd").sshKeys);
  });

  it("refuses values that could escape into a unit file or a command", () => {
    const hostile = [
      { gateway: "172.16.11.1\nExecStart=/bin/sh" },
      { gateway: "172.16.11.1 http://evil" },
      { gateway: "evil.example" },
      { port: 0 },
      { port: 8080.5 },
      { artifact: "fleetd\nExecStart=/bin/sh" },
      { artifact: "../fleetd" },
      { artifact: "fleetd?x" },
      { sha256: `${SHA}\nExecStart=/bin/sh` },
      { sha256: SHA.toUpperCase() },
      { sha256: "0" },
    ];
    for (const h of hostile)
      expect(() => fleetInstallExtra({ ...install, ...h }), JSON.stringify(h)).toThrow();
  });

  it("is wanted only when the image lacks fleet and the guest runs units", () => {
    expect(imageNeedsFleetd({ fleet: false, guest: "flatcar" })).toBe(true);
    expect(imageNeedsFleetd({ fleet: false })).toBe(true);
    expect(imageNeedsFleetd({ fleet: true, guest: "lab-fleet" })).toBe(false);
    expect(imageNeedsFleetd({ fleet: false, guest: "lab-test" })).toBe(false);
  });

  it("knows which roles run fleet", async () => {
    expect(await roleUsesFleet(defaultTemplatesDir(), "etcd")).toBe(true);
    expect(await roleUsesFleet(defaultTemplatesDir(), "kubernetes")).toBe(true);
    expect(templateUsesFleet({ coreos: { units: [{ name: "etcd2.service", command: "start" }] } })).toBe(
      false,
    );
    expect(templateUsesFleet({ hostname: "x" })).toBe(false);
    expect(templateUsesFleet({ coreos: { fleet: { metadata: "role=x" } } })).toBe(true);
  });
});
