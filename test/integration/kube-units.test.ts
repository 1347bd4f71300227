// The Kubernetes fleet units (units/) on a real guest of role kubernetes: a Flatcar-shaped VM booted by
// lab in a namespace this test creates. systemd inside the guest accepts every unit
// (`systemd-analyze verify`), the lab-kube helper that the kubernetes cloud-config installs turns
// the machine's lab settings into the units' environment, and it installs a program from the lab
// mirror only when the digest matches (stand-in artifacts: the real binaries need the internet).

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFlatcar } from "../helpers/flatcar.js";
import { serialLogPath } from "../helpers/guest.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS, "ssh", "tar"]);
const BOOT_TIMEOUT_MS = 240_000;
const VM = "kube1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)("Kubernetes units on a guest of role kubernetes", () => {
  let lab: LabEnv;
  let work: string;

  const ssh = (command: string, reject = true) => lab.lab(["vm", "ssh", VM, "--", command], { reject });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "lab-kube-it-"));
    lab = await createLabEnv(await createNetns("labK"));
    await lab.lab(["net", "up"]);
    await importFlatcar(lab);
    // Stand-ins for the release binaries: small programs with the artifact names the helper asks for.
    const probe = path.join(work, "probe");
    await writeFile(probe, '#!/bin/sh\necho "lab-probe $*"\n', { mode: 0o755 });
    await lab.lab(["mirror", "import", "probe-v1", probe]);
    await lab.lab(["mirror", "import", "probe-v2", probe]);
    await writeFile(path.join(work, "bridge"), "#!/bin/sh\necho bridge\n", { mode: 0o755 });
    await inNs(lab.ns, ["tar", "-czf", path.join(work, "plugins.tgz"), "-C", work, "bridge"]);
    await lab.lab(["mirror", "import", "plugins-v1.tgz", path.join(work, "plugins.tgz")]);
    await lab.lab(["vm", "create", VM, "--role", "kubernetes", "--memory", "512"]);
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    let r = await ssh("true", false);
    while (r.exitCode !== 0 && Date.now() < deadline) {
      await sleep(3000);
      r = await ssh("true", false);
    }
    const log = await readFile(serialLogPath(lab.run, VM), "utf8").catch(() => "");
    expect(r.exitCode, `${r.stderr}\nserial log tail:\n${log.slice(-2000)}`).toBe(0);
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("cloud-config installed the helper and the machine's lab settings", async () => {
    expect((await ssh("test -x /opt/lab/bin/lab-kube && echo yes")).stdout.trim()).toBe("yes");
    const env = (await ssh("cat /etc/lab/cluster.env")).stdout;
    expect(env).toMatch(/^LAB_NAME=kube1$/m);
    expect(env).toMatch(/^LAB_IP=172\.16\.11\.\d+$/m);
    expect(env).toMatch(/^LAB_MIRROR=http:\/\/172\.16\.11\.1:\d+$/m);
  });

  it("every Kubernetes unit passes systemd-analyze verify inside the guest", async () => {
    const dir = path.join(repoRoot, "units");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".service") && f !== "labd.service");
    expect(files).toContain("kube-apiserver.service");
    await ssh("rm -rf /tmp/lab-units && mkdir -p /tmp/lab-units");
    for (const f of files) {
      // base64 keeps the file intact through ssh's remote shell.
      const b64 = (await readFile(path.join(dir, f))).toString("base64");
      await ssh(`echo ${b64} | base64 -d > /tmp/lab-units/${f}`);
    }
    const r = await ssh("sudo systemd-analyze verify /tmp/lab-units/*.service", false);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    // A unit systemd would refuse fails the same check: the check can fail.
    await ssh("printf '[Service]\\nExecStart=/opt/lab/bin/none\\n' > /tmp/lab-units/broken.service");
    expect((await ssh("sudo systemd-analyze verify /tmp/lab-units/broken.service", false)).exitCode).not.toBe(
      0,
    );
  });

  it("lab-kube env writes the units' environment, with the plan's defaults", async () => {
    await ssh("sudo /opt/lab/bin/lab-kube env");
    const env = (await ssh("cat /run/lab/kubernetes.env")).stdout;
    expect(env).toMatch(/^LAB_ETCD=http:\/\/\S+:2379$/m);
    expect(env).toMatch(/^SERVICE_RANGE=10\.10\.0\.0\/22$/m);
    expect(env).toMatch(/^CLUSTER_DNS=10\.10\.0\.10$/m);
    // The network plan from 'lab up' wins over the defaults; a value that is not plain is refused.
    await ssh("printf 'SERVICE_RANGE=10.96.0.0/20\\n' | sudo tee /etc/lab/kubernetes.env");
    await ssh("sudo /opt/lab/bin/lab-kube env");
    expect((await ssh("cat /run/lab/kubernetes.env")).stdout).toMatch(/^CLUSTER_DNS=10\.96\.0\.10$/m);
    await ssh("printf 'SERVICE_RANGE=$(id)\\n' | sudo tee /etc/lab/kubernetes.env");
    const bad = await ssh("sudo /opt/lab/bin/lab-kube env", false);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/unexpected line: SERVICE_RANGE=\$\(id\)/);
    await ssh("sudo rm /etc/lab/kubernetes.env");
  });

  it("installs a program from the mirror when its digest matches, and runs it", async () => {
    const r = await ssh("sudo /opt/lab/bin/lab-kube fetch probe-v1 probe");
    expect(r.stdout).toMatch(/probe installed from probe-v1/);
    expect((await ssh("/opt/lab/kubernetes/bin/probe a b")).stdout.trim()).toBe("lab-probe a b");
    expect((await ssh("sudo /opt/lab/bin/lab-kube run probe c")).stdout.trim()).toBe("lab-probe c");
    // Already installed with that digest: nothing is downloaded again.
    expect((await ssh("sudo /opt/lab/bin/lab-kube fetch probe-v1 probe")).stdout).toBe("");
    await ssh("sudo /opt/lab/bin/lab-kube fetch-tgz plugins-v1.tgz /opt/cni/bin");
    expect((await ssh("/opt/cni/bin/bridge")).stdout.trim()).toBe("bridge");
  });

  it("refuses an artifact whose bytes do not match, and one the mirror does not have", async () => {
    // Same size, one byte different: the mirror serves it, the guest must not install it.
    const file = path.join(lab.home, "mirror/probe-v2");
    const bytes = await readFile(file);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
    await writeFile(file, bytes);
    const r = await ssh("sudo /opt/lab/bin/lab-kube fetch probe-v2 probe2", false);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/probe-v2 from http:\/\/172\.16\.11\.1:\d+ does not match its sha256/);
    expect((await ssh("test -e /opt/lab/kubernetes/bin/probe2 || echo absent")).stdout.trim()).toBe("absent");
    const missing = await ssh("sudo /opt/lab/bin/lab-kube fetch kube-apiserver-v0.0.0 kube-apiserver", false);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toMatch(
      /has no kube-apiserver-v0\.0\.0: on the host run 'lab mirror add --for kubernetes'/,
    );
  });
});
