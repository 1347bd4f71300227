import { describe, expect, it } from "vitest";
import {
  parseLeases,
  releaseLeases,
  renderDhcpHosts,
  renderDnsmasqConfig,
  renderDnsNames,
} from "../../src/net/dnsmasq-config.js";

const input = {
  network: "default",
  bridge: "labbr0",
  gateway: "172.16.11.1",
  domain: "lab",
  dhcpStart: "172.16.11.128",
  dhcpEnd: "172.16.11.254",
  netmask: "255.255.255.0",
  files: {
    hosts: "/run/lab/h",
    names: "/run/lab/n",
    leases: "/run/lab/l",
    pid: "/run/lab/p",
    log: "/run/lab/log",
  },
};

describe("dnsmasq config", () => {
  it("binds only to the bridge and serves the lab domain", () => {
    const text = renderDnsmasqConfig(input);
    const lines = text.split("\n");
    expect(lines).toContain("interface=labbr0");
    expect(lines).toContain("bind-interfaces");
    expect(lines).toContain("listen-address=172.16.11.1");
    expect(lines).toContain("dhcp-range=172.16.11.128,172.16.11.254,255.255.255.0,12h");
    expect(lines).toContain("dhcp-hostsfile=/run/lab/h");
    expect(lines).toContain("addn-hosts=/run/lab/n");
    expect(lines).toContain("local=/lab/");
    expect(lines).toContain("dhcp-option=option:router,172.16.11.1");
  });

  it("refuses values that could start a new option", () => {
    expect(() => renderDnsmasqConfig({ ...input, bridge: "br0\ndhcp-script=/tmp/x" })).toThrow(/refusing/);
    expect(() => renderDhcpHosts([{ name: "a b", mac: "52:54:00:00:00:01", ip: "172.16.11.10" }])).toThrow();
  });

  it("renders reservations and names sorted", () => {
    const rs = [
      { name: "node2", mac: "52:54:00:00:00:02", ip: "172.16.11.11" },
      { name: "etcd", mac: "52:54:00:00:00:01", ip: "172.16.11.10" },
    ];
    expect(renderDhcpHosts(rs)).toBe(
      "52:54:00:00:00:01,172.16.11.10,etcd\n52:54:00:00:00:02,172.16.11.11,node2\n",
    );
    expect(renderDnsNames(rs, "lab")).toBe("172.16.11.10 etcd.lab etcd\n172.16.11.11 node2.lab node2\n");
  });

  it("parses lease files (dnsmasq 2.90 format)", () => {
    const leases = parseLeases("1763800000 52:54:00:AA:bb:cc 172.16.11.10 node1 01:52:54:00:aa:bb:cc\n\n");
    expect(leases).toEqual([
      { expires: 1763800000, mac: "52:54:00:aa:bb:cc", ip: "172.16.11.10", hostname: "node1" },
    ]);
  });
});

describe("releasing dnsmasq leases", () => {
  const leases = [
    "1700000000 52:54:00:00:00:01 172.16.11.10 old *",
    "1700000000 52:54:00:00:00:02 172.16.11.11 keep *",
    "1700000000 aa:bb:cc:00:00:03 172.16.11.200 dynamic *",
    "",
  ].join("\n");

  it("drops a lease on an address now reserved for another MAC, and keeps the rest", () => {
    const out = releaseLeases(leases, [
      { name: "new", mac: "52:54:00:00:00:09", ip: "172.16.11.10" },
      { name: "keep", mac: "52:54:00:00:00:02", ip: "172.16.11.11" },
    ]);
    expect(out).not.toContain("172.16.11.10");
    expect(out).toContain("52:54:00:00:00:02 172.16.11.11");
    expect(out).toContain("172.16.11.200");
  });

  it("drops the leases of a released address or MAC, and changes nothing otherwise", () => {
    const keep = [{ name: "keep", mac: "52:54:00:00:00:02", ip: "172.16.11.11" }];
    const out = releaseLeases(leases, keep, [{ mac: "52:54:00:00:00:01", ip: "172.16.11.10" }]);
    expect(out.split("\n").filter(Boolean)).toHaveLength(2);
    expect(releaseLeases(leases, keep)).toBe(leases);
  });
});
