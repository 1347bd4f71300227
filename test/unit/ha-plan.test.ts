import { describe, expect, it } from "vitest";
import type { DesiredMachine, DesiredNetwork } from "../../src/lab/file/desired.js";
import { checkApiVip } from "../../src/lab/plan/check-vip.js";
import { etcdClusterFiles } from "../../src/lab/plan/etcd-plan.js";
import { addressingFor, planIps } from "../../src/lab/plan/ips.js";
import { lbPeers, renderHaproxyCfg, renderKeepalivedConf } from "../../src/lab/plan/lb-plan.js";

const machine = (name: string, role: string, ip?: string): DesiredMachine => ({
  field: "machines[0]",
  nameField: "group",
  name,
  role,
  network: "default",
  ip,
  sshKeyFiles: [],
});
const net = (apiVip?: string): DesiredNetwork => ({
  field: "networks[0]",
  name: "default",
  subnet: "172.16.11.0/24",
  cluster: { podNetwork: "10.0.0.0/16", podSubnetLength: 24, nodePorts: "30000-32767", apiVip },
});
const ha = [
  machine("etcd-1", "etcd"),
  machine("etcd-2", "etcd"),
  machine("etcd-3", "etcd"),
  machine("lb-1", "lb"),
  machine("lb-2", "lb"),
  machine("kube-1", "kubernetes"),
  machine("kube-2", "kubernetes"),
];
const ips = new Map(ha.map((m, i) => [m.name, `172.16.11.${10 + i}`]));

describe("etcd cluster files (lab up)", () => {
  it("a member of three gets the whole initial cluster and fleet every member", () => {
    const files = etcdClusterFiles(ha[1]!, ha, ips);
    expect(files.map((f) => f.path)).toEqual(["/etc/lab/etcd-cluster.env", "/etc/lab/fleet-etcd.env"]);
    expect(files[0]!.content).toContain(
      "ETCD_INITIAL_CLUSTER=etcd-1=http://172.16.11.10:2380,etcd-2=http://172.16.11.11:2380,etcd-3=http://172.16.11.12:2380\n",
    );
    expect(files[0]!.content).toContain("ETCD_INITIAL_CLUSTER_STATE=new\n");
    expect(files[1]!.content).toBe(
      "FLEET_ETCD_SERVERS=http://172.16.11.10:2379,http://172.16.11.11:2379,http://172.16.11.12:2379\n",
    );
  });

  it("another machine gets fleet's endpoints only; a single etcd machine changes nothing", () => {
    expect(etcdClusterFiles(ha[5]!, ha, ips).map((f) => f.path)).toEqual(["/etc/lab/fleet-etcd.env"]);
    const single = [machine("etcd", "etcd"), machine("node", "kubernetes")];
    expect(etcdClusterFiles(single[0]!, single, ips)).toEqual([]);
    expect(etcdClusterFiles(single[1]!, single, ips)).toEqual([]);
  });
});

describe("lb configuration", () => {
  const p = (name: string) => lbPeers(ha.find((m) => m.name === name)!, ha, ips, "172.16.11.5", 24);

  it("haproxy sends 6443 to every kubernetes machine, health-checked on /readyz over TLS", () => {
    const cfg = renderHaproxyCfg(p("lb-1"));
    expect(cfg).toContain("  bind :6443\n");
    expect(cfg).toContain("  server kube-1 172.16.11.15:6443\n  server kube-2 172.16.11.16:6443\n");
    expect(cfg).toContain("option httpchk GET /readyz");
    expect(cfg).toContain("check check-ssl verify none");
  });

  it("keepalived: unicast to the other lb, the VIP on eth0, the first lb by name preferred", () => {
    const one = renderKeepalivedConf(p("lb-1"));
    const two = renderKeepalivedConf(p("lb-2"));
    expect(one).toContain("unicast_src_ip 172.16.11.13\n  unicast_peer {\n    172.16.11.14\n  }");
    expect(two).toContain("unicast_src_ip 172.16.11.14\n  unicast_peer {\n    172.16.11.13\n  }");
    expect(one).toContain("172.16.11.5/24 dev eth0");
    const prio = (s: string) => Number(/priority (\d+)/.exec(s)![1]);
    expect(prio(one)).toBeGreaterThan(prio(two));
  });
});

describe("the API VIP is checked like any other address", () => {
  const addr = addressingFor(net());
  const at = (vip: string, machines = ha, reservations: { name: string; mac: string; ip: string }[] = []) =>
    checkApiVip(net(vip), addr, machines, reservations).map((p) => p.message);

  it("takes a free static address with lb and kubernetes machines", () => {
    expect(at("172.16.11.5")).toEqual([]);
  });

  it("refuses the gateway, the DHCP range, outside the subnet, a machine's or a VM's address", () => {
    expect(at(addr.gateway)[0]).toMatch(/is the gateway/);
    expect(at(addr.dhcpStart)[0]).toMatch(/inside the DHCP range/);
    expect(at("10.9.9.9")[0]).toMatch(/not a host address/);
    expect(at("172.16.11.255")[0]).toMatch(/not a host address/);
    expect(at("172.16.11.20", [...ha, machine("fixed", "kubernetes", "172.16.11.20")])[0]).toMatch(
      /fixed ip of fixed/,
    );
    expect(at("172.16.11.5", ha, [{ name: "old", mac: "52:54:00:00:00:01", ip: "172.16.11.5" }])[0]).toMatch(
      /reserved for old/,
    );
  });

  it("needs lb machines to hold it and kubernetes machines behind it; lb machines need it", () => {
    expect(
      at(
        "172.16.11.5",
        ha.filter((m) => m.role !== "lb"),
      )[0],
    ).toMatch(/no machine of role lb/);
    expect(
      at(
        "172.16.11.5",
        ha.filter((m) => m.role !== "kubernetes"),
      )[0],
    ).toMatch(/no machine of role kubernetes/);
    expect(checkApiVip(net(), addr, ha, [])[0]!.message).toMatch(/needs networks\[0\]\.cluster\.apiVip/);
  });

  it("no machine is given the VIP by the address planner", () => {
    const first = planIps(ha, addr, []).ips.get("etcd-1")!;
    const plan = planIps(ha, addr, [], first);
    expect([...plan.ips.values()]).not.toContain(first);
    expect(plan.problems).toEqual([]);
  });
});

describe("lab status: who holds the VIP", () => {
  it("reads the address from ip -o -4 addr output, not a longer address sharing its prefix", async () => {
    const { holdsAddress } = await import("../../src/lab/run/ha-status.js");
    const out =
      "2: eth0    inet 172.16.11.13/24 brd 172.16.11.255 scope global eth0\\       valid_lft forever preferred_lft forever\n" +
      "2: eth0    inet 172.16.11.5/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n";
    expect(holdsAddress(out, "172.16.11.5")).toBe(true);
    expect(holdsAddress(out, "172.16.11.1")).toBe(false);
    expect(holdsAddress(out.split("\n")[0]!, "172.16.11.5")).toBe(false);
  });
});
