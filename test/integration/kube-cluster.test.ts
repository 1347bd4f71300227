// The Kubernetes units of units/ started by `lab up` on a three-machine fleet cluster (Flatcar-shaped
// lab-flatcar image: real etcd, fleet and systemd in the guests), with the real CNI plugins (Debian's
// containernetworking-plugins, repacked like the upstream release tarball) and stand-ins for the
// release binaries that need the internet (test/fixtures/kube-standin.sh, each behaviour citing
// its upstream source): every unit is fetched from the lab mirror, digest checked, placed by fleet
// as the tutorial laid it out, and runs with the flags and files the lab's network plan and the API
// server's record produce; the CNI config a node got runs through the real plugins on that node.
// Pod traffic between nodes runs through the kernel's vxlan device as the stand-in flanneld sets
// it up after flannel's vxlan backend; flannel itself and Kubernetes itself are not shown.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Attachment, addNetworkList, type CniRuntime, delNetworkList } from "../helpers/cni.js";
import { BUNDLE_ETCD, FLATCAR_BUNDLE, FLATCAR_IMAGE, requireFlatcarBundle } from "../helpers/flatcar.js";
import { createLabEnv, type LabEnv, links, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";

const PLUGINS = "/usr/lib/cni"; // Debian's containernetworking-plugins
const skip = skipUnless([...VM_TOOLS, "ssh", "tar", "curl"]) || !existsSync(`${PLUGINS}/bridge`);
// Three Flatcar-shaped guests (etcd + two nodes, the fewest that show traffic between nodes) running
// every Kubernetes unit: 7.5 minutes on a quiet 2-core host (20-28 minutes when the host was shared
// with other test runs). Part of `npm test`; LAB_TEST_KUBE_CLUSTER=0 skips it.
const wanted = process.env.LAB_TEST_KUBE_CLUSTER !== "0";
const ETCD = "http://172.16.11.10:2379";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString("base64");
/** Whether ADDR is inside the /24 SUBNET. */
const inSubnet = (addr: string, subnet: string) =>
  addr.split(".").slice(0, 3).join(".") === subnet.split(".").slice(0, 3).join(".");

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
  /** The node's subnet from flanneld's subnet file: network address and flannel's (gateway) address. */
  const flannelSubnet = async (node: string) => {
    const env = (await ssh(node, "cat /run/flannel/subnet.env")).stdout;
    const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(env);
    if (!m) throw new Error(`${node}: unexpected subnet.env:\n${env}`);
    return { subnet: `${m[1]}.0/24`, gateway: `${m[1]}.1` };
  };
  /** Runs a CNI plugin on the guest as its container runtime would: /opt/cni/bin, config on stdin. */
  const guestRuntime = (vm: string): CniRuntime => ({
    run: async (type, env, stdin) => {
      const vars = Object.entries({ ...env, CNI_PATH: "/opt/cni/bin" }).map(([k, v]) => `${k}='${v}'`);
      const b64 = Buffer.from(stdin).toString("base64");
      const r = await lab.lab(
        ["vm", "ssh", vm, "--", `echo ${b64} | base64 -d | sudo env ${vars.join(" ")} /opt/cni/bin/${type}`],
        { reject: false },
      );
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
  });

  beforeAll(async () => {
    requireFlatcarBundle();
    work = await mkdtemp(path.join(tmpdir(), "lab-kube-up-"));
    lab = await createLabEnv(await createNetns("labC"));
    const standin = path.join(work, "standin");
    await writeFile(standin, await readFile(path.join(repoRoot, "test/fixtures/kube-standin.sh")), {
      mode: 0o755,
    });
    // The real plugins, laid out as in the upstream cni-plugins-linux-amd64 tarball (flat).
    await inNs(lab.ns, ["tar", "-czf", path.join(work, "cni.tgz"), "-C", PLUGINS, "."]);
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

  // The cases after the first read the cluster it brought up: when it did not come up they are
  // skipped, so the first case's account of why is the last failure printed.
  let upFailed = false;
  beforeEach((ctx) => {
    if (upFailed) ctx.skip();
  });

  it("lab up launches every unit and each becomes active where fleet's rules put it", async () => {
    upFailed = true;
    const up = await lab.lab(["up", "-f", file], { reject: false });
    if (up.exitCode !== 0) {
      // fleetd stops every unit of its machine when it shuts down: its journal says whether it did.
      const fleet = await Promise.all(
        ["etcd", "node-1", "node-2"].map(async (vm) => {
          const j = await lab.lab(
            [
              "vm",
              "ssh",
              vm,
              "--",
              "journalctl -b -u lab-fleet.service --no-pager -n 25; journalctl -k -b --no-pager | grep -i -e oom -e killed | tail -5",
            ],
            { reject: false },
          );
          return `--- ${vm}: lab-fleet.service\n${j.stdout}${j.stderr}`;
        }),
      );
      // lab up's own account goes last: a CI log often keeps only the end of a failure.
      const tail = `${up.stdout}${up.stderr}`.split("\n").slice(-80).join("\n");
      throw new Error(
        `lab up exited ${up.exitCode}\n${fleet.join("\n")}\n--- lab up (last 80 lines)\n${tail}`,
      );
    }
    for (const u of [
      "flanneld",
      "kube-apiserver",
      "kube-apiserver-record",
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
      if (rows.length === 10 && rows.every((r) => r.active === "active")) break;
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
    expect(ip("kube-apiserver-record.service")).toEqual(ip("kube-apiserver.service"));
    // lab up waited for the nodes, as the (stand-in) API server lists them.
    expect(up.stdout).toMatch(/kubernetes: 2\/2 nodes Ready/);
    for (const vm of ["etcd", "node-1", "node-2"])
      expect((await ssh(vm, "systemctl --failed --no-legend --plain")).stdout.trim(), vm).toBe("");
    upFailed = false;
  }, 1_200_000);

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
    const node = JSON.parse(String(rec.stdout)).node;
    expect(node.ttl).toBeLessThanOrEqual(60);
    const [server, token, ca, clientCa] = (node.value as string).split(" ");
    expect(Buffer.from(clientCa!, "base64").toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
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
    expect(args).toContain("--kubelet-client-certificate=/var/lib/lab/kubernetes/pki/kubelet-client.crt");
    const sched = (await ssh(api, "cat /run/lab-standin/kube-scheduler.args")).stdout;
    expect(sched).toMatch(/^--config=\/var\/lib\/lab\/kubernetes\/scheduler-config\.yaml$/m);
    // CoreDNS applied at the cluster DNS address of the plan.
    expect((await ssh(api, "cat /run/lab-standin/applied.yaml")).stdout).toMatch(
      /clusterIP: 10\.10\.0\.10$/m,
    );
    const cm = (await ssh(api, "cat /run/lab-standin/kube-controller-manager.args")).stdout;
    expect(cm).toMatch(/^--cluster-cidr=10\.0\.0\.0\/16$/m);
    for (const node of ["node-1", "node-2"]) {
      const kubeconfig = (await ssh(node, "sudo cat /var/lib/lab/kubernetes/kubelet.kubeconfig")).stdout;
      expect(kubeconfig).toContain(`server: https://${ip("kube-apiserver.service")[0]}:6443`);
      expect(kubeconfig).toMatch(/certificate-authority-data: [A-Za-z0-9+/=]{100,}/);
      const kubelet = (await ssh(node, "sudo cat /var/lib/lab/kubernetes/kubelet-config.yaml")).stdout;
      expect(kubelet).toMatch(/clusterDNS:\n {2}- 10\.10\.0\.10\n/);
      expect(kubelet).toMatch(/clientCAFile: \/var\/lib\/lab\/kubernetes\/kubelet-client-ca\.crt/);
      const cni = JSON.parse((await ssh(node, "sudo cat /etc/cni/net.d/10-lab.conflist")).stdout);
      // host-local takes the subnet's network address; flannel's address is the gateway.
      const { subnet, gateway } = await flannelSubnet(node);
      expect(cni.plugins[0].ipam.ranges[0][0]).toEqual({ subnet, gateway });
      const kargs = (await ssh(node, "cat /run/lab-standin/kubelet.args")).stdout;
      expect(kargs).toMatch(new RegExp(`^--hostname-override=${node}$`, "m"));
      expect(
        (await ssh(node, "test -x /opt/cni/bin/bridge && cat /opt/cni/bin/.lab-artifact")).stdout.trim(),
      ).toBe("cni-plugins-v1.6.2.tgz");
    }
  });

  it("flanneld leased each node a subnet in etcd, as flannel's vxlan backend records it", async () => {
    const range = await inNs(lab.ns, [
      "curl",
      "-sf",
      "-X",
      "POST",
      `${ETCD}/v3/kv/range`,
      "-d",
      JSON.stringify({
        key: b64("/coreos.com/network/subnets/"),
        range_end: b64("/coreos.com/network/subnets0"),
      }),
    ]);
    const kvs = (JSON.parse(String(range.stdout)).kvs ?? []) as {
      key: string;
      value: string;
      lease?: string;
    }[];
    const leases = kvs.map((kv) => ({
      key: Buffer.from(kv.key, "base64").toString(),
      attrs: JSON.parse(Buffer.from(kv.value, "base64").toString()),
      lease: kv.lease,
    }));
    expect(leases.map((l) => l.attrs.PublicIP).sort()).toEqual(["172.16.11.11", "172.16.11.12"]);
    for (const node of ["node-1", "node-2"]) {
      const { subnet } = await flannelSubnet(node);
      const mine = leases.find((l) => l.key === `/coreos.com/network/subnets/${subnet.replace("/", "-")}`);
      expect(mine, `${node}: lease for ${subnet}`).toBeDefined();
      expect(mine!.lease, "held under an etcd lease (TTL)").toMatch(/^[1-9]\d*$/);
      const mac = (await ssh(node, "cat /sys/class/net/flannel.1/address")).stdout.trim();
      expect(mine!.attrs).toMatchObject({ BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: mac } });
    }
  });

  const pods = new Map<string, { list: Parameters<typeof addNetworkList>[1]; att: Attachment; ip: string }>();

  it("each node's CNI config runs through the real plugins on that node: pod address, route, reach", async () => {
    for (const node of ["node-1", "node-2"]) {
      const { subnet, gateway } = await flannelSubnet(node);
      const list = JSON.parse((await ssh(node, "sudo cat /etc/cni/net.d/10-lab.conflist")).stdout);
      await ssh(node, "sudo ip netns add labpod");
      const att = { containerId: `pod-${node}`, netns: "/var/run/netns/labpod", ifName: "eth0" };
      const result = await addNetworkList(guestRuntime(node), list, att);
      const address = result.ips?.[0]?.address ?? "";
      expect(
        address.endsWith("/24") && inSubnet(address.split("/")[0]!, subnet),
        `${address} in ${subnet}`,
      ).toBe(true);
      pods.set(node, { list, att, ip: address.split("/")[0]! });
      expect((await ssh(node, "sudo ip netns exec labpod ip -4 route show default")).stdout.trim()).toBe(
        `default via ${gateway} dev eth0`,
      );
      const nodeIp = (await ssh(node, "sed -n 's/^LAB_IP=//p' /etc/lab/cluster.env")).stdout.trim();
      await ssh(node, `sudo ip netns exec labpod ping -c 1 -W 5 ${nodeIp}`);
    }
  });

  it("a pod on one node reaches a pod on the other through flannel.1 (vxlan, stand-in flanneld)", async () => {
    const [a, b] = [pods.get("node-1")!, pods.get("node-2")!];
    // The route the stand-in installed for the other node's lease, as flannel's vxlan backend does.
    const { subnet: subnetB } = await flannelSubnet("node-2");
    expect((await ssh("node-1", `ip route show ${subnetB}`)).stdout.trim()).toBe(
      `${subnetB} via ${subnetB.split("/")[0]} dev flannel.1 onlink`,
    );
    await ssh("node-1", `sudo ip netns exec labpod ping -c 2 -W 5 ${b.ip}`);
    await ssh("node-2", `sudo ip netns exec labpod ping -c 2 -W 5 ${a.ip}`);
    // The packets crossed as VXLAN: node-2's flannel.1 received them.
    const rx = Number((await ssh("node-2", "cat /sys/class/net/flannel.1/statistics/rx_packets")).stdout);
    expect(rx).toBeGreaterThanOrEqual(2);
  });

  it("DEL through the real plugins removes each pod's interface", async () => {
    for (const [node, pod] of pods) {
      await delNetworkList(guestRuntime(node), pod.list, pod.att);
      expect((await ssh(node, "sudo ip netns exec labpod ip -o link show")).stdout).not.toMatch(/eth0/);
      await ssh(node, "sudo ip netns del labpod");
    }
  });

  it("lab kubeconfig gives the host a kubeconfig for the API server from its record", async () => {
    const file = path.join(work, "host.kubeconfig");
    await lab.lab(["kubeconfig", "-o", file]);
    const kc = yaml.load(await readFile(file, "utf8")) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { token: string } }[];
    };
    const { server, "certificate-authority-data": ca } = kc.clusters[0]!.cluster;
    expect(server).toBe(`https://${ip("kube-apiserver.service")[0]}:6443`);
    await writeFile(path.join(work, "ca.crt"), Buffer.from(ca, "base64"));
    const nodes = await inNs(lab.ns, [
      "curl",
      "-sf",
      "--cacert",
      path.join(work, "ca.crt"),
      "-H",
      `Authorization: Bearer ${kc.users[0]!.user.token}`,
      `${server}/api/v1/nodes`,
    ]);
    expect(JSON.parse(String(nodes.stdout)).kind).toBe("NodeList");
  });

  it("lab down takes the units, VMs and network away", async () => {
    const down = await lab.lab(["down", "-f", file, "--forget"]);
    expect(down.stdout).toMatch(/unit kube-apiserver\.service: destroyed in fleet/);
    expect(await links(lab.ns)).toEqual(["lo"]);
  }, 300_000);
});
