// The Kubernetes units of units/ started by `lab up` on a three-machine fleet cluster (Flatcar-shaped
// image, real etcd, fleet and systemd in the guests), with stand-ins for the release binaries
// (those need the internet): every unit is fetched from the lab mirror, digest checked, placed by
// fleet as the tutorial laid it out, and runs with the flags and files the lab's network plan and
// the API server's published record produce. What the stand-ins cannot show is Kubernetes itself.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_ETCD, FLATCAR_BUNDLE, FLATCAR_IMAGE, requireFlatcarBundle } from "../helpers/flatcar.js";
import { createLabEnv, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";

const skip = skipUnless([...VM_TOOLS, "ssh", "tar"]);
const wanted = process.env.LAB_TEST_FLEET_UP !== "0" || process.env.CI === "true";
const ETCD = "http://172.16.11.10:2379";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One program for every component: records its arguments, does what the next unit needs, waits. */
const STANDIN = `#!/bin/bash
name=$(basename "$0")
mkdir -p /run/lab-standin
printf '%s\\n' "$@" >"/run/lab-standin/$name.args"
case $name in
flanneld)
  n=$(hostname | tr -dc 0-9)
  mkdir -p /run/flannel
  printf 'FLANNEL_NETWORK=10.0.0.0/16\\nFLANNEL_SUBNET=10.0.%s.1/24\\nFLANNEL_MTU=1450\\nFLANNEL_IPMASQ=true\\n' "$n" >/run/flannel/subnet.env
  ;;
kube-apiserver)
  dir=/var/lib/lab/kubernetes/pki
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lab-standin -keyout "$dir/apiserver.key" -out "$dir/apiserver.crt" 2>/dev/null
  ;;
esac
systemd-notify --pid=$$ --ready 2>/dev/null || true
exec sleep infinity
`;

interface Row {
  unit: string;
  machine: string;
  active: string;
}

describe.skipIf(skip || !wanted)("the Kubernetes units on a lab-up cluster (stand-in binaries)", () => {
  let lab: LabEnv;
  let work: string;
  let file: string;
  let rows: Row[] = [];
  const ip = (unit: string) => rows.filter((r) => r.unit === unit).map((r) => r.machine.split("/")[1]!);
  const nodeOf = (addr: string) => (addr === "172.16.11.11" ? "node-1" : "node-2");
  const ssh = (vm: string, command: string) => lab.lab(["vm", "ssh", vm, "--", command]);

  beforeAll(async () => {
    requireFlatcarBundle();
    work = await mkdtemp(path.join(tmpdir(), "lab-kube-up-"));
    lab = await createLabEnv(await createNetns("labC"));
    const standin = path.join(work, "standin");
    await writeFile(standin, STANDIN, { mode: 0o755 });
    await writeFile(path.join(work, "bridge"), STANDIN, { mode: 0o755 });
    await inNs(lab.ns, ["tar", "-czf", path.join(work, "cni.tgz"), "-C", work, "bridge"]);
    const list = yaml.load(
      await readFile(path.join(repoRoot, "units/kubernetes.artifacts.yaml"), "utf8"),
    ) as {
      artifacts: { name: string }[];
    };
    const artifacts = [
      ...list.artifacts.map((a) => ({
        name: a.name,
        path: a.name.endsWith(".tgz") ? path.join(work, "cni.tgz") : standin,
      })),
      // What the roles run, as a user's mirror holds them (see test/helpers/flatcar.ts).
      { name: "etcd", path: BUNDLE_ETCD },
      { name: "fleetd", path: sharedBin("fleetd") },
    ];
    file = path.join(work, "lab.yaml");
    await writeFile(
      file,
      yaml.dump({
        networks: [
          {
            name: "default",
            subnet: "172.16.11.0/24",
            cluster: { podNetwork: "10.0.0.0/16", serviceRange: "10.10.0.0/22", nodePorts: "30000-32767" },
          },
        ],
        images: [{ name: FLATCAR_IMAGE, import: FLATCAR_BUNDLE }],
        machines: [
          { name: "etcd", role: "etcd", ip: "172.16.11.10", memory: 512 },
          { group: "node", role: "kubernetes", count: 2, memory: 512 },
        ],
        fleet: { dir: path.join(repoRoot, "units"), units: ["flanneld.service", "kube-*.service"] },
        artifacts,
      }),
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("lab up launches every unit and each becomes active where fleet's rules put it", async () => {
    const up = await lab.lab(["up", "-f", file]);
    for (const u of [
      "flanneld",
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kube-kubelet",
      "kube-proxy",
    ])
      expect(up.stderr).toMatch(new RegExp(`unit ${u}\\.service: launched`));
    const deadline = Date.now() + 360_000;
    for (;;) {
      rows = JSON.parse((await lab.lab(["fleet", "list-units", "--json"])).stdout) as Row[];
      const failed = rows.find((r) => r.active === "failed");
      if (failed) {
        const journal = await lab.lab(["fleet", "journal", failed.unit, "--lines", "40"], { reject: false });
        throw new Error(`${failed.unit} failed on ${failed.machine}:\n${journal.stdout}${journal.stderr}`);
      }
      if (rows.length === 9 && rows.every((r) => r.active === "active")) break;
      if (Date.now() > deadline) throw new Error(`not all active:\n${JSON.stringify(rows, null, 1)}`);
      await sleep(3000);
    }
    const nodes = ["172.16.11.11", "172.16.11.12"];
    for (const u of ["flanneld.service", "kube-kubelet.service", "kube-proxy.service"])
      expect(ip(u).sort(), u).toEqual(nodes);
    expect(ip("kube-apiserver.service")).toHaveLength(1);
    expect(nodes).toContain(ip("kube-apiserver.service")[0]);
    expect(ip("kube-controller-manager.service")).toEqual(ip("kube-apiserver.service"));
    expect(ip("kube-scheduler.service")).toEqual(ip("kube-apiserver.service"));
  }, 600_000);

  it("flannel's config is in etcd for both APIs; the API server published itself there", async () => {
    const v3 = await inNs(lab.ns, [
      "curl",
      "-sf",
      "-X",
      "POST",
      `${ETCD}/v3/kv/range`,
      "-d",
      JSON.stringify({ key: Buffer.from("/coreos.com/network/config").toString("base64") }),
    ]);
    const kv = JSON.parse(String(v3.stdout)).kvs[0];
    expect(JSON.parse(Buffer.from(kv.value, "base64").toString())).toMatchObject({ Network: "10.0.0.0/16" });
    const rec = await inNs(lab.ns, ["curl", "-sf", `${ETCD}/v2/keys/lab/kubernetes/apiserver`]);
    const [server, token, ca] = (JSON.parse(String(rec.stdout)).node.value as string).split(" ");
    expect(server).toBe(`https://${ip("kube-apiserver.service")[0]}:6443`);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(ca!, "base64").toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("the programs got the network plan's flags; nodes got a kubeconfig, kubelet config and CNI config", async () => {
    const api = nodeOf(ip("kube-apiserver.service")[0]!);
    const args = (await ssh(api, "cat /run/lab-standin/kube-apiserver.args")).stdout.split("\n");
    expect(args).toContain("--service-cluster-ip-range=10.10.0.0/22");
    expect(args).toContain("--etcd-servers=http://172.16.11.10:2379");
    expect(args).toContain(`--advertise-address=${ip("kube-apiserver.service")[0]}`);
    expect(args).toContain("--service-node-port-range=30000-32767");
    const cm = (await ssh(api, "cat /run/lab-standin/kube-controller-manager.args")).stdout;
    expect(cm).toMatch(/^--cluster-cidr=10\.0\.0\.0\/16$/m);
    for (const node of ["node-1", "node-2"]) {
      const kubeconfig = (await ssh(node, "sudo cat /var/lib/lab/kubernetes/kubelet.kubeconfig")).stdout;
      expect(kubeconfig).toContain(`server: https://${ip("kube-apiserver.service")[0]}:6443`);
      expect(kubeconfig).toMatch(/certificate-authority-data: [A-Za-z0-9+/=]{100,}/);
      const kubelet = (await ssh(node, "sudo cat /var/lib/lab/kubernetes/kubelet-config.yaml")).stdout;
      expect(kubelet).toMatch(/clusterDNS:\n {2}- 10\.10\.0\.10\n/);
      const cni = JSON.parse((await ssh(node, "cat /etc/cni/net.d/10-lab.conflist")).stdout);
      expect(cni.plugins[0].ipam.ranges[0][0].subnet).toBe(`10.0.${node.slice(-1)}.1/24`);
      const kargs = (await ssh(node, "cat /run/lab-standin/kubelet.args")).stdout;
      expect(kargs).toMatch(new RegExp(`^--hostname-override=${node}$`, "m"));
      expect(
        (await ssh(node, "test -x /opt/cni/bin/bridge && cat /opt/cni/bin/.lab-artifact")).stdout.trim(),
      ).toBe("cni-plugins-v1.6.2.tgz");
    }
  });

  it("lab down takes the units, VMs and network away", async () => {
    const down = await lab.lab(["down", "-f", file, "--forget"]);
    expect(down.stdout).toMatch(/unit kube-apiserver\.service: destroyed in fleet/);
    expect(await links(lab.ns)).toEqual(["lo"]);
  }, 300_000);
});
