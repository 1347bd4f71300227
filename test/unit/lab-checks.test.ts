import { describe, expect, it } from "vitest";
import { problemsError } from "../../src/field-problems.js";
import { desiredLab } from "../../src/lab/file/desired.js";
import { parseLabText } from "../../src/lab/file/load.js";
import { type CheckEnv, checkLab } from "../../src/lab/plan/checks.js";
import { addressingFor, planIps } from "../../src/lab/plan/ips.js";
import type { NetworkSpec } from "../../src/state/ledger.js";

const FILE = "/labs/lab.yaml";

interface Opts {
  subnet?: string;
  cluster?: string;
  machines?: string;
  units?: string;
}

function labText(o: Opts = {}): string {
  return `
networks:
  - name: default
    subnet: ${o.subnet ?? "172.16.11.0/24"}
    dhcpRange: 172.16.11.100-172.16.11.200
    cluster:
${o.cluster ?? "      podNetwork: 10.0.0.0/16\n      serviceRange: 10.10.0.0/22"}
images:
  - name: lab-test
    import: ../images/lab-test
machines:
${o.machines ?? "  - name: etcd\n    role: etcd\n    ip: 172.16.11.10\n  - group: node\n    role: kubernetes\n    count: 3"}
${o.units ?? ""}`;
}

const env = (over: Partial<CheckEnv> = {}): CheckEnv => ({
  host: {
    routes: [
      { dst: "default", dev: "eth0" },
      { dst: "192.168.1.0/24", dev: "eth0" },
    ],
    addresses: [
      { ifname: "lo", local: "127.0.0.1", prefixlen: 8 },
      { ifname: "eth0", local: "192.168.1.5", prefixlen: 24 },
    ],
  },
  labNetworks: [],
  reservations: new Map(),
  roles: ["etcd", "kubernetes"],
  catalog: ["flatcar-stable"],
  unitFiles: [],
  fileProblems: [],
  ...over,
});

function problems(o: Opts = {}, e: Partial<CheckEnv> = {}): string[] {
  const lab = desiredLab(parseLabText(labText(o), "lab.yaml"), FILE, "/root");
  return checkLab(lab, env(e)).map((p) => `${p.path}: ${p.message}`);
}

const net = (name: string, subnet: string, bridge: string): NetworkSpec => ({
  name,
  subnet,
  bridge,
  gateway: subnet.replace(/0\/\d+$/, "1"),
  prefix: 24,
  domain: "lab",
  dhcpStart: subnet.replace(/0\/\d+$/, "100"),
  dhcpEnd: subnet.replace(/0\/\d+$/, "200"),
  createdAt: "",
});

describe("cluster planning checks", () => {
  it("accepts the original topology", () => {
    expect(problems()).toEqual([]);
  });

  it("names both ranges when the lab subnet, pod network and service range collide", () => {
    expect(problems({ subnet: "10.0.5.0/24" })).toContain(
      "networks[0].cluster.podNetwork: 10.0.0.0/16 overlaps networks[0].subnet 10.0.5.0/24",
    );
    expect(
      problems({ cluster: "      podNetwork: 10.0.0.0/16\n      serviceRange: 10.0.128.0/22" }),
    ).toContain(
      "networks[0].cluster.serviceRange: 10.0.128.0/22 overlaps networks[0].cluster.podNetwork 10.0.0.0/16",
    );
  });

  it("names the host route or address a range collides with", () => {
    expect(problems({ subnet: "192.168.1.0/24" })).toContain(
      "networks[0].subnet: 192.168.1.0/24 overlaps the host route 192.168.1.0/24 via eth0",
    );
    expect(
      problems(
        { cluster: "      podNetwork: 192.168.0.0/16" },
        { host: { routes: [], addresses: [{ ifname: "wlan0", local: "192.168.7.9", prefixlen: 24 }] } },
      ),
    ).toContain(
      "networks[0].cluster.podNetwork: 192.168.0.0/16 overlaps the host address 192.168.7.9/24 on wlan0",
    );
  });

  it("collides with another lab network that is up, but not with its own (same name, own bridge)", () => {
    const other = net("test", "10.0.9.0/24", "labbr-test");
    const withRoute = { routes: [{ dst: "10.0.9.0/24", dev: "labbr-test" }], addresses: [] };
    expect(problems({}, { labNetworks: [other], host: withRoute })).toContain(
      "networks[0].cluster.podNetwork: 10.0.0.0/16 overlaps lab network test (10.0.9.0/24), which is up",
    );
    const own = net("default", "172.16.11.0/24", "labbr0");
    const ownRoute = { routes: [{ dst: "172.16.11.0/24", dev: "labbr0" }], addresses: [] };
    expect(problems({}, { labNetworks: [own], host: ownRoute })).toEqual([]);
  });

  it("requires room in the pod network for a subnet per machine", () => {
    expect(problems({ cluster: "      podNetwork: 10.0.0.0/24\n      podSubnetLength: 25" })).toContain(
      "networks[0].cluster.podNetwork: 10.0.0.0/24 with /25 per node holds 2 node(s), but 4 machines use network default",
    );
    expect(problems({ cluster: "      podNetwork: 10.0.0.0/23\n      podSubnetLength: 25" })).toEqual([]);
    expect(problems({ cluster: "      podNetwork: 10.0.0.0/22\n      podSubnetLength: 25" })).toEqual([]);
    expect(problems({ cluster: "      podNetwork: 10.0.0.0/24\n      podSubnetLength: 24" })).toContain(
      "networks[0].cluster.podSubnetLength: /24 per node must be longer than the pod network 10.0.0.0/24",
    );
  });

  it("checks node ports and private pod ranges", () => {
    expect(problems({ cluster: "      podNetwork: 10.0.0.0/16\n      nodePorts: 2000-9000" })).toContain(
      "networks[0].cluster.nodePorts: 2000-9000 includes port(s) the cluster's components use: 2379, 2380, 4001, 8080, 8285",
    );
    expect(problems({ cluster: "      podNetwork: 8.8.0.0/16" })[0]).toMatch(
      /podNetwork: 8\.8\.0\.0\/16 is not a private range/,
    );
  });

  it("rejects duplicate and invalid machine names", () => {
    const dup = "  - name: etcd\n    role: etcd\n  - name: etcd\n    role: kubernetes";
    expect(problems({ machines: dup })).toContain(
      "machines[1].name: duplicate machine name etcd (also machines[0].name)",
    );
    // Names up to 32 characters are fine (long ones get a hashed tap); the 33rd is refused.
    const group = "kubernetes-workers-of-the-labx";
    const ok = `  - name: etcd\n    role: etcd\n  - group: ${group}\n    role: kubernetes\n    count: 2`;
    expect(problems({ machines: ok })).toEqual([]);
    const long = ok.replace(group, `${group}bc`);
    expect(problems({ machines: long })).toEqual([
      expect.stringMatching(
        /^machines\[1\]\.group: invalid VM name "kubernetes-workers-of-the-labxbc-1" \(use 1-32 lowercase/,
      ),
    ]);
  });

  it("rejects an unknown role, listing the roles there are", () => {
    expect(problems({ machines: "  - name: etcd\n    role: etcdd" })).toContain(
      "machines[0].role: unknown role etcdd: roles are the templates in cloud-config/ (etcd, kubernetes)",
    );
  });

  it("checks fixed addresses: in the subnet, not the gateway, outside the DHCP range, not reserved", () => {
    const at = (ip: string) => problems({ machines: `  - name: etcd\n    role: etcd\n    ip: ${ip}` });
    expect(at("172.16.12.10")).toEqual([
      "machines[0].ip: 172.16.12.10 is not a host address in networks[0].subnet 172.16.11.0/24",
    ]);
    expect(at("172.16.11.1")).toEqual(["machines[0].ip: 172.16.11.1 is the gateway of default"]);
    expect(at("172.16.11.150")).toEqual([
      "machines[0].ip: 172.16.11.150 is inside the DHCP range 172.16.11.100-172.16.11.200 of default",
    ]);
    const reserved = new Map([["default", [{ name: "old", mac: "52:54:00:00:00:01", ip: "172.16.11.10" }]]]);
    expect(problems({}, { reservations: reserved })).toEqual([
      "machines[0].ip: 172.16.11.10 is reserved for old (hint: 'lab vm destroy old --forget' releases it)",
    ]);
  });

  it("requires every unit glob to match a file, and its role to exist", () => {
    const units = "fleet:\n  units: [kube-*.service]";
    expect(problems({ units })).toEqual([
      "fleet.units[0]: kube-*.service matches no unit file in /labs/units",
    ]);
    const unitFiles = [
      {
        name: "kube-proxy.service",
        file: "/labs/units/kube-proxy.service",
        options: [{ section: "X-Fleet", name: "MachineMetadata", value: "role=kubernetes" }],
      },
      {
        name: "kube-odd.service",
        file: "/labs/units/kube-odd.service",
        options: [{ section: "X-Fleet", name: "MachineMetadata", value: "role=master" }],
      },
    ];
    expect(problems({ units }, { unitFiles })).toEqual([
      "fleet.units[0]: kube-odd.service runs on role=master, but no machine has that role",
    ]);
  });

  it("reports problems found while reading files", () => {
    expect(
      problems({}, { fileProblems: [{ path: "images[0].import", message: "/x does not exist" }] }),
    ).toEqual(["images[0].import: /x does not exist"]);
  });
});

describe("address plan", () => {
  const lab = desiredLab(parseLabText(labText(), "lab.yaml"), FILE, "/root");
  const addr = addressingFor(lab.networks[0]!);

  it("gives fixed addresses, then the next free static ones in boot order", () => {
    expect(Object.fromEntries(planIps(lab.machines, addr, []).ips)).toEqual({
      etcd: "172.16.11.10",
      "node-1": "172.16.11.11",
      "node-2": "172.16.11.12",
      "node-3": "172.16.11.13",
    });
  });

  it("keeps a name's reservation and skips addresses other names hold", () => {
    const reservations = [
      { name: "node-2", mac: "52:54:00:00:00:02", ip: "172.16.11.40" },
      { name: "other", mac: "52:54:00:00:00:03", ip: "172.16.11.11" },
    ];
    expect(Object.fromEntries(planIps(lab.machines, addr, reservations).ips)).toEqual({
      etcd: "172.16.11.10",
      "node-1": "172.16.11.12",
      "node-2": "172.16.11.40",
      "node-3": "172.16.11.13",
    });
  });
});

describe("big counts", () => {
  const big = (count: number, subnet = "10.20.0.0/16") =>
    labText({
      subnet,
      cluster: "      podNetwork: 10.100.0.0/14\n      podSubnetLength: 30\n      serviceRange: 10.10.0.0/22",
      machines: `  - group: node\n    role: kubernetes\n    count: ${count}`,
    }).replace("dhcpRange: 172.16.11.100-172.16.11.200", "dhcpRange: 10.20.255.0-10.20.255.250");

  // How long the checks take is measured by `npm run bench:checks`, not asserted here.
  it("60000 machines on a /16 pass", () => {
    const lab = desiredLab(parseLabText(big(60000), "lab.yaml"), FILE, "/root");
    expect(checkLab(lab, env())).toEqual([]);
  });

  it("more machines than the subnet holds is one problem, not one per machine", () => {
    const text = big(40000, "10.20.0.0/24").replace("10.20.255.0-10.20.255.250", "10.20.0.100-10.20.0.200");
    const lab = desiredLab(parseLabText(text, "lab.yaml"), FILE, "/root");
    const p = checkLab(lab, env()).map((x) => `${x.path}: ${x.message}`);
    expect(p).toEqual([
      "networks[0].subnet: 40000 machines on default, but 10.20.0.0/24 has only 152 static addresses (outside the DHCP range 10.20.0.100-10.20.0.200)",
    ]);
  });

  it("a count no lab subnet can hold is refused by the schema, and a long list of problems is cut", () => {
    expect(() => parseLabText(big(100000), "lab.yaml")).toThrow(/count: at most 65534/);
    const groups = Array.from(
      { length: 3 },
      (_, i) => `  - group: g${i}\n    role: etcd\n    count: 30000`,
    ).join("\n");
    expect(() => parseLabText(labText({ machines: groups }), "lab.yaml")).toThrow(
      /machines: 90000 machines in all; no lab subnet/,
    );
    const many = Array.from({ length: 50 }, (_, i) => `  - name: Bad${i}\n    role: etcd`).join("\n");
    const lab = desiredLab(parseLabText(labText({ machines: many }), "lab.yaml"), FILE, "/root");
    const err = problemsError("lab.yaml", checkLab(lab, env()));
    expect(err.message.split("\n")).toHaveLength(22);
    expect(err.message).toMatch(/^lab\.yaml: 50 problems\n/);
    expect(err.message).toMatch(/\n {2}\.\.\. and 30 more$/);
  });
});
