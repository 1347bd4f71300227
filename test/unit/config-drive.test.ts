import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildConfigDriveFiles,
  buildIsoArgv,
  type ConfigDriveInput,
  writeConfigDrive,
} from "../../src/cloudconfig/config-drive.js";
import { HostToolError } from "../../src/errors.js";
import { fakeHost } from "../helpers/fake-host.js";

const input: ConfigDriveInput = {
  uuid: "6d5f4b1e-8e1c-4f4e-9a43-0c2b7d1f2a11",
  name: "node1",
  hostname: "node1",
  userData: '#cloud-config\nhostname: "node1"\n',
  sshKeys: ["ssh-ed25519 AAAA one@lab", "ssh-rsa BBBB two@lab"],
};

/** Records argv; "builds" the ISO by writing a marker at the -o path, or fails when asked. */
const isoHost = (fail = false) =>
  fakeHost(
    [
      fail
        ? { match: () => true, exitCode: 5, stderr: "genisoimage: No space left on device" }
        : {
            match: () => true,
            effect: async (argv) => {
              const out = argv[argv.indexOf("-o") + 1];
              if (out) await writeFile(out, `iso of ${argv[argv.length - 1]}`);
            },
          },
    ],
    { strict: true },
  );

describe("config-2 files", () => {
  it("puts user_data and meta_data.json under openstack/latest", () => {
    const files = buildConfigDriveFiles(input);
    expect(files.map((f) => f.path)).toEqual([
      "openstack/latest/user_data",
      "openstack/latest/meta_data.json",
    ]);
    for (const f of files) expect(path.isAbsolute(f.path) || f.path.includes("..")).toBe(false);
    expect(files[0]?.content).toBe(input.userData);
  });

  it("writes OpenStack metadata with the fields coreos-cloudinit reads", () => {
    const meta = JSON.parse(buildConfigDriveFiles(input)[1]?.content ?? "");
    expect(meta).toEqual({
      uuid: input.uuid,
      name: "node1",
      hostname: "node1",
      public_keys: { "lab-0": "ssh-ed25519 AAAA one@lab", "lab-1": "ssh-rsa BBBB two@lab" },
    });
  });

  it("keeps public_keys an object when there are no keys", () => {
    const meta = JSON.parse(buildConfigDriveFiles({ ...input, sshKeys: [] })[1]?.content ?? "");
    expect(meta.public_keys).toEqual({});
  });
});

describe("ISO argv", () => {
  it("labels the volume config-2 with Rock Ridge and Joliet names", () => {
    expect(buildIsoArgv("/var/lib/lab/vms/a/config-2", "/var/lib/lab/vms/a/config-2.iso")).toEqual([
      "genisoimage",
      "-quiet",
      "-input-charset",
      "utf-8",
      "-V",
      "config-2",
      "-J",
      "-R",
      "-o",
      "/var/lib/lab/vms/a/config-2.iso",
      "/var/lib/lab/vms/a/config-2",
    ]);
  });

  it("never lets a path read as an option", () => {
    const argv = buildIsoArgv("-dir", "-out.iso");
    expect(argv.slice(-3)).toEqual(["-o", "./-out.iso", "./-dir"]);
  });
});

describe("writeConfigDrive", () => {
  let root: string;
  let configDir: string;
  let iso: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lab-config-drive-"));
    configDir = path.join(root, "vms", "node1", "config-2");
    iso = path.join(root, "vms", "node1", "config-2.iso");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes the tree and builds the ISO from it under a temporary name", async () => {
    const host = isoHost();
    await writeConfigDrive(host, configDir, iso, input);
    expect(await readFile(path.join(configDir, "openstack/latest/user_data"), "utf8")).toBe(input.userData);
    expect(
      JSON.parse(await readFile(path.join(configDir, "openstack/latest/meta_data.json"), "utf8")).name,
    ).toBe("node1");
    expect(host.calls).toHaveLength(1);
    const argv = host.calls[0] ?? [];
    expect(argv[argv.length - 1]).toBe(configDir);
    expect(argv[argv.indexOf("-o") + 1]).not.toBe(iso);
    expect(await readFile(iso, "utf8")).toBe(`iso of ${configDir}`);
    expect((await stat(iso)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(configDir, "openstack/latest/user_data"))).mode & 0o777).toBe(0o600);
    expect((await readdir(path.dirname(configDir))).sort()).toEqual(["config-2", "config-2.iso"]);
  });

  it("replaces an earlier drive completely and removes crash leftovers", async () => {
    await mkdir(path.join(configDir, "openstack/latest"), { recursive: true });
    await writeFile(path.join(configDir, "openstack/latest/stale"), "old");
    // Left by a labd that died mid-write (no process has this pid: above the kernel's pid_max).
    const dead = 2 ** 31 - 1;
    await mkdir(path.join(path.dirname(configDir), `.tmp-${dead}-deadbeef-config-2`));
    await writeFile(path.join(path.dirname(configDir), `.tmp-${dead}-cafe-config-2.iso`), "half an iso");
    await writeConfigDrive(isoHost(), configDir, iso, input);
    expect((await readdir(path.join(configDir, "openstack/latest"))).sort()).toEqual([
      "meta_data.json",
      "user_data",
    ]);
    expect((await readdir(path.dirname(configDir))).sort()).toEqual(["config-2", "config-2.iso"]);
  });

  it("skips the ISO when no path is given", async () => {
    const host = isoHost();
    await writeConfigDrive(host, configDir, undefined, input);
    expect(host.calls).toEqual([]);
    expect(await readdir(path.dirname(configDir))).toEqual(["config-2"]);
  });

  it("leaves no partial ISO when genisoimage fails", async () => {
    await expect(writeConfigDrive(isoHost(true), configDir, iso, input)).rejects.toBeInstanceOf(
      HostToolError,
    );
    expect(await readdir(path.dirname(configDir))).toEqual(["config-2"]);
  });
});
