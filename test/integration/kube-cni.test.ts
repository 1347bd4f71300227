// The pod network config that lab-kube writes on a node, executed by the real CNI plugins
// (Debian's containernetworking-plugins: bridge, host-local, portmap) the way the kubelet's
// container runtime drives them (test/helpers/cni.ts, after libcni). A network namespace plays the
// node, with flannel's subnet file in the format flanneld writes (flannel-io/flannel pkg/subnet);
// two more play pods. The config comes from running cloud-config/include/lab-kube.sh cni itself.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Attachment,
  addNetworkList,
  type CniRuntime,
  delNetworkList,
  netnsRuntime,
} from "../helpers/cni.js";
import { repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { inCI, skipUnless } from "../helpers/require.js";

const PLUGINS = "/usr/lib/cni"; // Debian's containernetworking-plugins
const hasPlugins = existsSync(`${PLUGINS}/bridge`) && existsSync(`${PLUGINS}/host-local`);
if (!hasPlugins && inCI) throw new Error(`no CNI plugins in ${PLUGINS}: run npm run setup`);
const skip = skipUnless(["ip", "ping", "bash", "iptables"]) || !hasPlugins;

const NODE_IP = "172.16.11.11";
const SUBNET_ENV =
  "FLANNEL_NETWORK=10.0.0.0/16\nFLANNEL_SUBNET=10.0.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

// biome-ignore lint/suspicious/noExplicitAny: the conflist is JSON as lab-kube wrote it
type ConfList = any;

describe.skipIf(skip)("lab-kube's CNI config through the real CNI plugins", () => {
  let work: string;
  let node: string;
  let rt: CniRuntime;
  let list: ConfList;
  const pods: { ns: string; att: Attachment; ip?: string }[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "lab-kube-cni-"));
    await writeFile(path.join(work, "subnet.env"), SUBNET_ENV);
    execFileSync("bash", [path.join(repoRoot, "cloud-config/include/lab-kube.sh"), "cni"], {
      env: { ...process.env, LAB_KUBE_SUBNET_ENV: `${work}/subnet.env`, LAB_KUBE_CNI_DIR: `${work}/net.d` },
    });
    list = JSON.parse(await readFile(path.join(work, "net.d/10-lab.conflist"), "utf8"));
    // The one change to the config: host-local keeps its reservations in the test's directory
    // instead of the machine's /var/lib/cni/networks.
    list.plugins[0].ipam.dataDir = path.join(work, "ipam");
    node = await createNetns("labN");
    // The node's own address on its lab-facing link (a veth: no dummy module on every host).
    await inNs(node, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "uplink"]);
    await inNs(node, ["ip", "link", "set", "uplink", "up"]);
    await inNs(node, ["ip", "addr", "add", `${NODE_IP}/24`, "dev", "eth0"]);
    await inNs(node, ["ip", "link", "set", "eth0", "up"]);
    rt = netnsRuntime(node, [PLUGINS]);
    for (const id of ["poda", "podb"]) {
      const ns = await createNetns(`labP${id.slice(-1)}`);
      pods.push({
        ns,
        att: { containerId: `${id}-0123456789`, netns: `/var/run/netns/${ns}`, ifName: "eth0" },
      });
    }
  });

  afterAll(async () => {
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("ADD gives each pod an address in the node's flannel subnet and one default route via cni0", async () => {
    for (const pod of pods) {
      const result = await addNetworkList(rt, list, pod.att);
      expect(result.ips).toHaveLength(1);
      const ip = result.ips![0]!;
      expect(ip.address).toMatch(/^10\.0\.5\.\d+\/24$/);
      expect(ip.gateway).toBe("10.0.5.1");
      // One default route, not two (bridge's isDefaultGateway and no ipam route to 0.0.0.0/0).
      expect(result.routes?.filter((r) => r.dst === "0.0.0.0/0")).toEqual([
        { dst: "0.0.0.0/0", gw: "10.0.5.1" },
      ]);
      pod.ip = ip.address.split("/")[0];
      const addr = (await inNs(pod.ns, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).stdout;
      expect(addr).toContain(ip.address);
      const routes = (await inNs(pod.ns, ["ip", "-4", "route", "show", "default"])).stdout.trim();
      expect(routes).toBe("default via 10.0.5.1 dev eth0");
    }
    expect(pods[0]!.ip).not.toBe(pods[1]!.ip);
    const bridge = (await inNs(node, ["ip", "-4", "-o", "addr", "show", "dev", "cni0"])).stdout;
    expect(bridge).toContain("10.0.5.1/24");
  });

  it("a pod reaches the node (its bridge address and its own address) and the other pod", async () => {
    const [a, b] = pods;
    for (const target of ["10.0.5.1", NODE_IP, b!.ip!])
      await inNs(a!.ns, ["ping", "-c", "1", "-W", "5", target]);
    await inNs(b!.ns, ["ping", "-c", "1", "-W", "5", a!.ip!]);
  });

  it("DEL removes the pod's interface, its veth on the node and its address reservation", async () => {
    for (const pod of [...pods].reverse()) await delNetworkList(rt, list, pod.att);
    for (const pod of pods) {
      const links = (await inNs(pod.ns, ["ip", "-o", "link", "show"])).stdout;
      expect(links).not.toMatch(/eth0/);
    }
    const nodeLinks = (await inNs(node, ["ip", "-o", "link", "show"])).stdout;
    expect(nodeLinks.split("\n").filter((l) => /master cni0/.test(l))).toEqual([]);
    const reserved = (await readdir(path.join(work, "ipam/lab"))).filter((f) => /^\d/.test(f));
    expect(reserved).toEqual([]);
  });

  it("what the config used to say fails with the real plugins: host bits set, two default routes", async () => {
    const hostBits = structuredClone(list);
    hostBits.plugins[0].ipam.ranges = [[{ subnet: "10.0.5.1/24" }]];
    const ns = await createNetns("labPc");
    const att = { containerId: "podc-0123456789", netns: `/var/run/netns/${ns}`, ifName: "eth0" };
    await expect(addNetworkList(rt, hostBits, att)).rejects.toThrow(/Network has host bits set/);
    const twice = structuredClone(list);
    twice.plugins[0].ipam.routes = [{ dst: "0.0.0.0/0" }];
    const ns2 = await createNetns("labPd");
    const att2 = { containerId: "podd-0123456789", netns: `/var/run/netns/${ns2}`, ifName: "eth0" };
    // Debian's bridge plugin (1.1.1) installs the first default route and fails on the second.
    await expect(addNetworkList(rt, twice, att2)).rejects.toThrow(
      /failed to add route .*0\.0\.0\.0.*file exists/,
    );
  });
});
