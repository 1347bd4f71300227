// lab.yaml's registries read by the real containerd of a kubernetes machine (lab-flatcar image):
// a pull of registry.lab:5000/lab/pause:1 goes to the mirror lab configured, with the credentials
// from the host file. The mirror is a request recorder the test runs inside the VM on loopback
// (systemd-socket-activate, one shell per connection, answering 404), so the pull fails after
// containerd has shown which endpoint and headers it used.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importMirrorPrograms } from "../helpers/flatcar.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns } from "../helpers/netns.js";
import { inCI, skipUnless, VM_TOOLS } from "../helpers/require.js";

const bundle = path.join(repoRoot, ".cache/images/lab-flatcar");
const haveImage = existsSync(path.join(bundle, "manifest.json"));
if (!haveImage && inCI) throw new Error("build the lab-flatcar image first (npm run setup)");
if (!haveImage)
  console.warn("skipping: no lab-flatcar image in .cache/images (scripts/build-flatcar-image.mjs)");
const skip = skipUnless([...VM_TOOLS, "ssh"]) || !haveImage;
const BOOT_TIMEOUT_MS = 300_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RECORDER = [
  "while IFS= read -r line; do",
  '  printf "%s\\n" "$line" >>/run/lab-registry-requests',
  '  [ "$line" = "$(printf "\\r")" ] && break',
  "done",
  'printf "HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n"',
].join("\n");

describe.skipIf(skip)("registries from lab.yaml, read by the machine's containerd", () => {
  let lab: LabEnv;
  let work: string;
  const ssh = (command: string, reject = true) => lab.lab(["vm", "ssh", "node-1", "--", command], { reject });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "lab-registry-"));
    lab = await createLabEnv(await createNetns("labR"));
    await writeFile(path.join(work, "cred"), "puller:s3cret\n", { mode: 0o600 });
    const file = path.join(work, "lab.yaml");
    await writeFile(
      file,
      yaml.dump({
        networks: [{ name: "default", subnet: "172.16.11.0/24" }],
        images: [{ name: "lab-flatcar", import: bundle }],
        machines: [
          { name: "etcd", role: "etcd", ip: "172.16.11.10", memory: 512 },
          { group: "node", role: "kubernetes", count: 1, memory: 768 },
        ],
        registries: [
          {
            host: "registry.lab:5000",
            mirrors: ["http://127.0.0.1:5099"],
            insecure: true,
            credentials: "cred",
          },
        ],
      }),
    );
    await importMirrorPrograms(lab); // etcd and fleetd: the roles install them from the mirror
    await lab.lab(["up", "-f", file]);
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while ((await ssh("systemctl is-active containerd", false)).stdout.trim() !== "active") {
      if (Date.now() > deadline) throw new Error("containerd did not become active on node-1");
      await sleep(3000);
    }
  }, BOOT_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("writes hosts.toml for the registry, readable by root only", async () => {
    const f = "/etc/containerd/certs.d/registry.lab:5000/hosts.toml";
    expect((await ssh(`sudo stat -c %a '${f}'`)).stdout.trim()).toBe("600");
    expect((await ssh(`sudo cat '${f}'`)).stdout).toContain('server = "http://registry.lab:5000"');
  });

  it("a pull goes to the mirror with the credentials", async () => {
    const b64 = Buffer.from(RECORDER).toString("base64");
    await ssh(`echo ${b64} | base64 -d | sudo tee /run/lab-registry-recorder.sh >/dev/null`);
    await ssh(
      "sudo systemd-run --unit lab-registry-recorder systemd-socket-activate -l 127.0.0.1:5099 -a --inetd bash /run/lab-registry-recorder.sh",
    );
    // The CRI plugin (what the kubelet uses) when crictl is there; else ctr with the same directory.
    const pull =
      "if command -v crictl >/dev/null; then sudo crictl --runtime-endpoint unix:///run/containerd/containerd.sock pull registry.lab:5000/lab/pause:1; " +
      "else sudo ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d registry.lab:5000/lab/pause:1; fi";
    const r = await ssh(pull, false);
    expect(r.exitCode).not.toBe(0); // the recorder answers 404
    const seen = (await ssh("sudo cat /run/lab-registry-requests")).stdout;
    expect(seen).toMatch(
      /^(GET|HEAD) \/v2\/lab\/pause\/manifests\/1\?ns=registry\.lab(%3A|:)5000 HTTP\/1\.1/m,
    );
    expect(seen).toMatch(
      new RegExp(`^authorization: Basic ${Buffer.from("puller:s3cret").toString("base64")}`, "im"),
    );
  });
});
