// The socket's trust boundary with the real daemon in a namespace: a non-root member of the
// socket's group (a user and group this test creates) may import only files it can read itself,
// may attach to a VM console, and nobody can import a file that is not a self-contained disk.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLabEnv, type LabEnv, labBin, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS, "setpriv", "useradd", "groupadd"]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const who = `labit${process.pid % 100000}`;

describe.skipIf(skip)("the control socket's trust boundary (root vs a member of the socket's group)", () => {
  let lab: LabEnv;
  let work: string;
  let uid = 0;

  /** The real CLI as the test user, a member of the socket's group only. */
  const asMember = async (args: string[], input?: string) => {
    const r = await execa(
      "ip",
      [
        "netns",
        "exec",
        lab.ns,
        "setpriv",
        `--reuid=${uid}`,
        `--regid=${who}`,
        "--init-groups",
        "--",
        process.execPath,
        labBin,
        ...args,
      ],
      { env: lab.env, extendEnv: false, reject: false, input, timeout: 60_000 },
    );
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    execFileSync("groupadd", [who]);
    execFileSync("useradd", ["--no-create-home", "--gid", who, "--shell", "/usr/sbin/nologin", who]);
    uid = Number(execFileSync("id", ["-u", who]).toString().trim());
    lab = await createLabEnv(await createNetns("labT"), { LAB_GROUP: who });
    await chmod(path.dirname(lab.home), 0o755); // the member must reach the socket under LAB_RUN
    await lab.lab(["daemon", "start"]);
    await chmod(lab.run, 0o755);
    work = await mkdtemp(path.join(tmpdir(), "lab-trust-"));
    await chmod(work, 0o755);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
    // userdel may remove the same-named group itself.
    for (const argv of [
      ["userdel", who],
      ["groupdel", who],
    ]) {
      try {
        execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
      } catch {}
    }
  });

  it("a member cannot publish what it cannot read: /etc/shadow, a link to it, a file in a 0700 dir", async () => {
    const own = path.join(work, "own");
    await mkdir(own);
    await execa("chown", [`${who}:${who}`, own]);
    await symlink("/etc/shadow", path.join(own, "link"));
    const secretDir = path.join(work, "rootonly");
    await mkdir(secretDir, { mode: 0o700 });
    await writeFile(path.join(secretDir, "secret"), "root's secret\n", { mode: 0o644 });
    for (const file of ["/etc/shadow", path.join(own, "link"), path.join(secretDir, "secret")]) {
      const r = await asMember(["mirror", "import", "stolen", file]);
      expect(r.exitCode, `${file}: ${r.stderr}`).toBe(7);
      expect(r.stderr).toMatch(/you cannot read|does not exist/);
    }
    expect((await lab.labJson<{ artifacts: unknown[] }>(["mirror", "list"])).artifacts).toEqual([]);
    // Its own file is published, read with its own rights.
    await writeFile(path.join(own, "mine"), "mine\n");
    await execa("chown", [`${who}:${who}`, path.join(own, "mine")]);
    await chmod(path.join(own, "mine"), 0o600);
    const ok = await asMember(["mirror", "import", "mine", path.join(own, "mine")]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.stringify(await lab.labJson(["mirror", "list"]))).toContain('"mine"');
  });

  it("--plan refuses what up would: a key file holding YAML, unknown cloud-config keys, a host name with a line break", async () => {
    const key = path.join(work, "key.pub");
    await writeFile(
      key,
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6szBZu525mk0Rb0YGl1ZDdXq38QbCkTwqYOt2fL1MX me\nwrite_files: []\n",
    );
    const file = path.join(work, "lab.yaml");
    await writeFile(
      file,
      `networks:\n  - name: default\n    subnet: 172.16.11.0/24\nimages:\n  - name: lab-test\n    import: ${bundle}\nmachines:\n  - name: a\n    role: etcd\n    sshKeys: [${key}]\n  - name: b\n    role: etcd\n    cloudConfig:\n      bogus: 1\n  - name: c\n    role: etcd\n    cloudConfig:\n      hostname: "c\\u2028evil"\n`,
    );
    const r = await lab.lab(["up", "-f", file, "--plan"], { reject: false });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/machines\[0\]\.sshKeys\[0\]: .* not one OpenSSH public key on one line/);
    expect(r.stderr).toMatch(/machines\[1\]\.cloudConfig: .*bogus: unknown key/);
    expect(r.stderr).toMatch(/machines\[2\]\.cloudConfig: .*hostname: not an RFC 1123 host name/);
  });

  it("labd opens no path a client names", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ name: "x", path: "/etc/hostname" });
      const req = http.request(
        {
          socketPath: path.join(lab.run, "labd.sock"),
          method: "POST",
          path: "/v1/mirror/artifacts",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(400);
  });

  it("a file that is not a self-contained disk is no image, even for root", async () => {
    const cases: [string, RegExp][] = [["/etc/shadow", /not a disk image/]];
    // A qcow2 whose data lives in a root-only host file.
    const dataFile = path.join(work, "rootonly", "secret");
    const withData = path.join(work, "data-file.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", `data_file=${dataFile}`, withData, "1M"]);
    cases.push([withData, /external data file/]);
    const overlay = path.join(work, "overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", overlay]);
    cases.push([overlay, /overlay on \/etc\/hostname/]);
    for (const [file, message] of cases) {
      const r = await lab.lab(["image", "import", file, "--name", "bad"], { reject: false });
      expect(r.exitCode, file).toBe(2);
      expect(r.stderr, file).toMatch(message);
    }
    expect(await lab.labJson<unknown[]>(["image", "list"])).toEqual([]);
  });

  it("a member imports a bundle it can read, attaches to a console; a base image changed to read a host file does not boot", async () => {
    const copy = path.join(work, "bundle");
    await execa("cp", ["-r", bundle, copy]);
    await execa("chown", ["-R", `${who}:${who}`, copy]);
    await chmod(copy, 0o700);
    const imp = await asMember(["image", "import", copy, "--name", "lab-test"]);
    expect(imp.exitCode, imp.stderr).toBe(0);
    await lab.lab(["net", "up"]);
    await lab.lab(["vm", "create", "t1", "--role", "etcd"]);
    // The console as a member: attach, see the guest's console, detach with Ctrl-].
    const con = await asMember(["vm", "console", "t1"], "\x1d");
    expect(con.stderr, con.stderr).toMatch(/connected to t1's serial console/);
    expect(con.exitCode, con.stderr).toBe(0);
    const logs = await asMember(["vm", "logs", "t1"]);
    expect(logs.exitCode, logs.stderr).toBe(0);

    await lab.lab(["vm", "stop", "t1"]);
    const base = path.join(lab.home, "images/lab-test/disk.qcow2");
    await copyFile(base, `${base}.orig`);
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      `data_file=${path.join(work, "rootonly", "secret")}`,
      base,
      "16M",
    ]);
    const r = await lab.lab(["vm", "start", "t1"], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/external data file/);
    await copyFile(`${base}.orig`, base);
    await lab.lab(["vm", "destroy", "t1", "--forget"]);
  });
});
