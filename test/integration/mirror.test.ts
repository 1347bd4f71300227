// The artifact mirror with the real daemon in a namespace this test creates: a lab-test guest
// fetches an artifact from the gateway and checks its digest; the host's other addresses do not
// answer; `mirror add` keeps nothing on a digest mismatch and downloads once; a fleet-less image
// gets fleetd from the mirror in its cloud-config; net down and daemon stop take the listener away.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openConsole } from "../helpers/console.js";
import { waitForReady } from "../helpers/guest.js";
import { createLabEnv, iptablesSave, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { waitUntil } from "../helpers/wait.js";

const skip = skipUnless([...VM_TOOLS, "ss"]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const sharedBin = process.env.LAB_SHARED_BIN || path.resolve(repoRoot, "..", "shared", "bin");
const PORT = 18080; // not the default: LAB_MIRROR_PORT must reach the daemon
const ORIGIN_PORT = 18099;
const GATEWAY = "172.16.11.1";
const OTHER = "10.98.0.1";
// The lab-test guest's console echoes what it is sent; a key line printed by `echo` lands at the start of a line.
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIC6szBZu525mk0Rb0YGl1ZDdXq38QbCkTwqYOt2fL1MX";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** One HTTP GET from inside the namespace: status and body digest, or the error code. */
const FETCH = `const r=require("http").get(process.argv[1],(res)=>{const h=require("crypto").createHash("sha256");
res.on("data",(d)=>h.update(d));res.on("end",()=>console.log(JSON.stringify({status:res.statusCode,sha256:h.digest("hex")})))});
r.on("error",(e)=>console.log(JSON.stringify({error:e.code})));r.setTimeout(5000,()=>r.destroy(Object.assign(new Error("t"),{code:"TIMEOUT"})));`;

/** The origin `mirror add` downloads from: loopback in the namespace, one line on stdout per request. */
const ORIGIN = `require("http").createServer((q,s)=>{console.log(q.url);s.end(process.argv[2])}).listen(+process.argv[1],"127.0.0.1",()=>console.log("ready"));`;

describe.skipIf(skip)("lab mirror (real daemon, OVS, dnsmasq and a lab-test guest in a namespace)", () => {
  let lab: LabEnv;
  let work: string;
  let origin: ChildProcess | undefined;
  let originLog = "";
  const hello = Buffer.from(`hello from the lab mirror ${Date.now()}\n`);

  const fetchInNs = async (url: string) =>
    JSON.parse(String((await inNs(lab.ns, [process.execPath, "-e", FETCH, url])).stdout)) as {
      status?: number;
      sha256?: string;
      error?: string;
    };
  const listening = async () => String((await inNs(lab.ns, ["ss", "-Hltn"])).stdout);

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    work = await mkdtemp(path.join(tmpdir(), "lab-mirror-it-"));
    lab = await createLabEnv(await createNetns("labM"), { LAB_MIRROR_PORT: String(PORT) });
    // Another address of the lab host, where the mirror must not answer.
    // (A veth pair inside the namespace: this kernel has no dummy links.)
    await inNs(lab.ns, ["ip", "link", "add", "labx0", "type", "veth", "peer", "name", "labx1"]);
    await inNs(lab.ns, ["ip", "addr", "add", `${OTHER}/24`, "dev", "labx0"]);
    for (const l of ["labx0", "labx1"]) await inNs(lab.ns, ["ip", "link", "set", l, "up"]);
    await lab.lab(["net", "up"]);
    await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
  });

  afterAll(async () => {
    if (origin?.pid) process.kill(origin.pid, "SIGKILL");
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("serves an imported artifact on the gateway address only", async () => {
    const file = path.join(work, "hello.txt");
    await writeFile(file, hello, { mode: 0o644 });
    const r = await lab.lab(["mirror", "import", "hello", file]);
    expect(r.stdout).toMatch(/mirror hello: added/);
    expect(await fetchInNs(`http://${GATEWAY}:${PORT}/hello`)).toEqual({
      status: 200,
      sha256: sha256(hello),
    });
    expect(await fetchInNs(`http://127.0.0.1:${PORT}/hello`)).toEqual({ error: "ECONNREFUSED" });
    expect(await fetchInNs(`http://${OTHER}:${PORT}/hello`)).toEqual({ error: "ECONNREFUSED" });
    // Only the index is served: the ledger beside the mirror directory stays out of reach.
    const traversal = await inNs(lab.ns, [
      "curl",
      "-s",
      "--path-as-is",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://${GATEWAY}:${PORT}/../lab.json`,
    ]);
    expect(String(traversal.stdout)).toBe("404");
    expect((await iptablesSave(lab.ns)).join("\n")).toMatch(
      new RegExp(`-A LAB-INPUT -i labbr0 -p tcp .*--dport ${PORT} -j ACCEPT`),
    );
    const list = await lab.labJson<{
      listeners: { url: string }[];
      artifacts: { name: string; sha256: string }[];
    }>(["mirror", "list"]);
    expect(list.listeners).toEqual([{ network: "default", url: `http://${GATEWAY}:${PORT}/` }]);
    expect(list.artifacts.map((a) => [a.name, a.sha256])).toEqual([["hello", sha256(hello)]]);
  });

  it("a guest fetches the artifact from the gateway and its digest matches", async () => {
    await lab.lab(["vm", "create", "node1", "--role", "etcd"]);
    await waitForReady(lab.run, "node1");
    const con = await openConsole(lab, "node1");
    const base = `http://${GATEWAY}:${PORT}`;
    con.write(
      `cd /tmp && wget -q -O hello ${base}/hello && wget -q -O hello.sha256 ${base}/hello.sha256 && sha256sum hello && sha256sum -c hello.sha256\r`,
    );
    await con.waitFor(/hello: OK/);
    expect(con.screen()).toContain(`${sha256(hello)}  hello`);
    // A host key line as a guest prints it, for the known_hosts check below.
    con.write(`echo LAB-SSH-HOSTKEY ssh-ed25519 ${ED25519}\r`);
    await con.waitFor(new RegExp(`\\nLAB-SSH-HOSTKEY ssh-ed25519 ${ED25519}`));
    expect(await con.detach()).toBe(0);
  });

  it("puts lab's own key on every VM and reads host keys from the console into lab's known_hosts", async () => {
    const sshDir = path.join(lab.home, "ssh");
    expect((await stat(sshDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(sshDir, "id_ed25519"))).mode & 0o777).toBe(0o600);
    const pub = (await readFile(path.join(sshDir, "id_ed25519.pub"), "utf8")).trim();
    const userData = await readFile(
      path.join(lab.home, "vms/node1/config-2/openstack/latest/user_data"),
      "utf8",
    );
    expect(userData).toContain(JSON.stringify(pub));
    // The guest has no sshd: the host key check passes, the connection is then refused.
    const r = await lab.lab(["vm", "ssh", "node1", "--", "true"], { reject: false, env: { LC_ALL: "C" } });
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/Connection refused/);
    const known = await readFile(path.join(sshDir, "known_hosts"), "utf8");
    expect(known).toBe(`node1,172.16.11.10 ssh-ed25519 ${ED25519}\n`);
  });

  it("mirror add keeps nothing on a digest mismatch, then downloads once", async () => {
    const blob = Buffer.from("x".repeat(100_000));
    origin = spawn(
      "ip",
      ["netns", "exec", lab.ns, process.execPath, "-e", ORIGIN, String(ORIGIN_PORT), blob.toString()],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    origin.stdout!.on("data", (d) => {
      originLog += String(d);
    });
    await waitUntil(() => originLog.includes("ready"), { what: "the origin server to listen", interval: 50 });
    const url = `http://127.0.0.1:${ORIGIN_PORT}/blob`;
    const bad = await lab.lab(["mirror", "add", "blob", url, "--sha256", sha256("not it")], {
      reject: false,
    });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/sha256 of .* is .* not the expected/);
    expect(bad.stderr).toMatch(/hint: nothing was kept/);
    expect((await readdir(path.join(lab.home, "mirror"))).sort()).toEqual(["hello", "index.json"]);
    const list = await lab.labJson<{ artifacts: { name: string }[] }>(["mirror", "list"]);
    expect(list.artifacts.map((a) => a.name)).toEqual(["hello"]);

    await lab.lab(["mirror", "add", "blob", url, "--sha256", sha256(blob)]);
    const again = await lab.lab(["mirror", "add", "blob", url, "--sha256", sha256(blob)]);
    expect(again.stdout).toMatch(/already there with that sha256, nothing transferred/);
    expect(originLog.split("\n").filter((l) => l === "/blob")).toHaveLength(2); // the bad one, the good one
    expect(await fetchInNs(`http://${GATEWAY}:${PORT}/blob`)).toEqual({ status: 200, sha256: sha256(blob) });
  });

  it("an image without fleet that runs units gets fleetd from the mirror, digest baked in", async () => {
    const units = path.join(work, "units-bundle");
    await cp(bundle, units, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(units, "manifest.json"), "utf8"));
    await writeFile(
      path.join(units, "manifest.json"),
      JSON.stringify({ ...manifest, name: "units", guest: "units-test" }),
    );
    await lab.lab(["image", "import", units, "--name", "units"]);
    const create = ["vm", "create", "node2", "--role", "kubernetes", "--image", "units", "--no-start"];
    const refused = await lab.lab(create, { reject: false });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/role kubernetes runs fleetd from the lab mirror, which does not have it/);
    expect(refused.stderr).toMatch(/hint: run 'lab mirror add --for fleet'.*'lab mirror import fleetd FILE'/);
    expect(await lab.labJson<{ name: string }[]>(["vm", "list"])).toHaveLength(1);

    const fleetd = path.join(sharedBin, "fleetd");
    await lab.lab(["mirror", "import", "fleetd", fleetd]);
    await lab.lab(create);
    const userData = await readFile(
      path.join(lab.home, "vms/node2/config-2/openstack/latest/user_data"),
      "utf8",
    );
    const digest = sha256(await readFile(fleetd));
    expect(userData).toContain(`${digest}  /opt/bin/fleetd.download`);
    expect(userData).toContain(`http://${GATEWAY}:${PORT}/%i`); // lab-install@fleetd.service
    for (const build of ["coreos-cloudinit", "coreos-cloudinit-v1.14.0"]) {
      const file = path.join(work, "node2.yml");
      await writeFile(file, userData);
      const v = await inNs(lab.ns, [path.join(sharedBin, build), "--validate", "--from-file", file], {
        reject: false,
      });
      const findings = `${v.stdout}${v.stderr}`
        .split("\n")
        .filter((l) => /line \d+: (warning|error)/.test(l));
      expect(
        findings.filter((f) => !/deprecated key "(fleet|etcd2)"/.test(f)),
        `${v.stdout}${v.stderr}`,
      ).toEqual([]);
    }
    await lab.lab(["vm", "destroy", "node2", "--forget"]);
  });

  it("the daemon's start-up reconcile brings the mirror back; net down takes it away", async () => {
    await lab.lab(["daemon", "stop"]);
    await waitUntil(
      async () => (await fetchInNs(`http://${GATEWAY}:${PORT}/hello`)).error === "ECONNREFUSED",
      {
        what: "the mirror to stop with labd",
      },
    );
    await lab.lab(["daemon", "start"]);
    await lab.lab(["net", "status"]); // waits for the start-up reconcile
    expect(await fetchInNs(`http://${GATEWAY}:${PORT}/hello`)).toEqual({
      status: 200,
      sha256: sha256(hello),
    });

    await lab.lab(["vm", "destroy", "node1", "--forget"]);
    expect(await listening()).toContain(`${GATEWAY}:${PORT}`);
    await lab.lab(["net", "down"]);
    expect(await listening()).not.toContain(`:${PORT}`);
    expect((await iptablesSave(lab.ns)).join("\n")).not.toContain(String(PORT));
    await lab.lab(["mirror", "rm", "blob"]);
    expect(
      (await lab.labJson<{ artifacts: { name: string }[] }>(["mirror", "list"])).artifacts.map((a) => a.name),
    ).toEqual(["fleetd", "hello"]);
  });
});
