// Every role's rendered cloud-config against the real coreos-cloudinit validators (Flatcar's build
// and the CoreOS v1.14.0 original), and a real config-2 ISO built with xorriso.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConfigDriveInput, writeConfigDrive } from "../../src/cloudconfig/config-drive.js";
import {
  type CloudConfigInput,
  defaultTemplatesDir,
  listRoles,
  renderCloudConfig,
} from "../../src/cloudconfig/render.js";
import { createHost } from "../../src/host/host.js";
import { TOOL_PATH } from "../../src/host/tools.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const sharedBin = process.env.LAB_SHARED_BIN || path.resolve(repoRoot, "..", "shared", "bin");
const inCI = process.env.CI === "true";
const builds = ["coreos-cloudinit", "coreos-cloudinit-v1.14.0"].map((file) => path.join(sharedBin, file));
const xorriso = findOnPath("xorriso");

/** In CI a missing prerequisite runs the test anyway, so it fails instead of skipping. */
const skipWithout = (present: boolean) => !present && !inCI;

// The only findings acceptable from the validators: etcd2 and fleet are deprecated upstream.
const ALLOWED_WARNINGS = [/^warning: deprecated key "etcd2"/, /^warning: deprecated key "fleet"/];

function findOnPath(tool: string): string | undefined {
  const dirs = `${process.env.PATH ?? ""}:${TOOL_PATH}`.split(":").filter(Boolean);
  return dirs.map((d) => path.join(d, tool)).find((p) => existsSync(p));
}

function values(role: string, hostile: boolean): CloudConfigInput {
  return {
    name: hostile ? "off" : role === "etcd" ? "etcd" : "node1",
    role,
    ip: role === "etcd" ? "172.16.11.10" : "172.16.11.101",
    prefix: 24,
    gateway: "172.16.11.1",
    dns: "172.16.11.1",
    domain: "lab",
    etcdEndpoint: "http://172.16.11.10:2379",
    mirrorUrl: "http://172.16.11.1:8080",
    sshKeys: hostile
      ? ['ssh-ed25519 AAAA "me"@lab\n  evil: true', "# key: {value}"]
      : ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7 core@lab"],
  };
}

interface Verdict {
  exitCode: number;
  findings: string[];
  output: string;
}

/** Runs `--validate`; findings are the report entries ("warning: ..." / "error: ...") and failures. */
async function validate(build: string, source: string[]): Promise<Verdict> {
  const result = await createHost().run([build, "--validate", ...source], {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  const output = result.stdout + result.stderr;
  const findings: string[] = [];
  for (const line of output.split("\n")) {
    const entry = /line \d+: ((?:warning|error): .*)$/.exec(line);
    if (entry?.[1]) findings.push(entry[1]);
    else if (/Failed|fatal|panic/i.test(line)) findings.push(`error: ${line}`);
  }
  return { exitCode: result.exitCode, findings, output };
}

/** coreos-cloudinit --validate exits 1 on any report entry, warnings included. */
function expectOnlyAllowedWarnings(verdict: Verdict): void {
  const unexpected = verdict.findings.filter((f) => !ALLOWED_WARNINGS.some((re) => re.test(f)));
  expect(unexpected, verdict.output).toEqual([]);
  expect(verdict.exitCode, verdict.output).toBe(verdict.findings.length > 0 ? 1 : 0);
}

describe("coreos-cloudinit --validate", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lab-cloudconfig-validate-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("knows the shipped roles", async () => {
    expect(await listRoles(defaultTemplatesDir())).toEqual(["etcd", "kubernetes", "lb", "plain"]);
  });

  for (const build of builds) {
    for (const role of ["etcd", "kubernetes", "lb"]) {
      for (const hostile of [false, true]) {
        const label = `${path.basename(build)} accepts the ${role} role${hostile ? " with hostile values" : ""}`;
        it.skipIf(skipWithout(existsSync(build)))(label, async () => {
          const text = await renderCloudConfig(defaultTemplatesDir(), values(role, hostile));
          const file = path.join(dir, `${role}-${hostile}.yml`);
          await writeFile(file, text);
          const verdict = await validate(build, ["--from-file", file]);
          expectOnlyAllowedWarnings(verdict);
          // lab's own units replace the deprecated etcd2/fleet sections: nothing to warn about.
          expect(verdict.findings, verdict.output).toEqual([]);
        });
      }
    }

    it.skipIf(skipWithout(existsSync(build)))(`${path.basename(build)} reports real errors`, async () => {
      const file = path.join(dir, "broken.yml");
      await writeFile(
        file,
        '#cloud-config\ncoreos:\n  units:\n    - name: "a.service"\n      command: "go"\n',
      );
      const verdict = await validate(build, ["--from-file", file]);
      expect(verdict.exitCode).toBe(1);
      expect(
        verdict.findings.some((f) => f.startsWith("error:")),
        verdict.output,
      ).toBe(true);
    });
  }
});

describe("config-2 ISO", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lab-config-drive-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(skipWithout(xorriso !== undefined))("is labelled config-2 and carries both files", async () => {
    const host = createHost();
    const userData = await renderCloudConfig(defaultTemplatesDir(), values("kubernetes", true));
    const input: ConfigDriveInput = {
      uuid: "6d5f4b1e-8e1c-4f4e-9a43-0c2b7d1f2a11",
      name: "node1",
      hostname: "node1",
      userData,
      sshKeys: values("kubernetes", true).sshKeys,
    };
    const configDir = path.join(dir, "config-2");
    const iso = path.join(dir, "config-2.iso");
    await writeConfigDrive(host, configDir, iso, input);

    const pvd = await host.run(["xorriso", "-indev", iso, "-pvd_info"]);
    expect(pvd.stdout + pvd.stderr).toMatch(/^Volume Id\s*:\s*config-2\s*$/m);
    const listing = await host.run(["xorriso", "-indev", iso, "-find", "/", "-type", "f"]);
    expect(listing.stdout.trim().split("\n").sort()).toEqual([
      "'/openstack/latest/meta_data.json'",
      "'/openstack/latest/user_data'",
    ]);

    const extracted = path.join(dir, "extracted");
    await host.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", extracted]);
    expect(await readFile(path.join(extracted, "openstack/latest/user_data"), "utf8")).toBe(userData);
    const meta = JSON.parse(await readFile(path.join(extracted, "openstack/latest/meta_data.json"), "utf8"));
    expect(meta.public_keys).toEqual({ "lab-0": input.sshKeys[0], "lab-1": input.sshKeys[1] });

    // The drive as the guest sees it: both builds read it through their config-drive datasource.
    for (const build of builds.filter((b) => existsSync(b) || inCI)) {
      const verdict = await validate(build, ["--from-configdrive", extracted]);
      expectOnlyAllowedWarnings(verdict);
      expect(verdict.output).toContain("openstack/latest/user_data");
      expect(verdict.findings, verdict.output).toEqual([]);
    }
  });
});
