// Long VM names' taps, the port-forward planner, and the pure parts of lab exec / lab cp.
import { describe, expect, it } from "vitest";
import { parseIptablesS } from "../../src/host/iptables.js";
import { checkPortsFree, parsePublish, planPortRules } from "../../src/net/ports.js";
import { copyVm, parseCopyEnd, remoteCommand, scpArgv } from "../../src/ssh/remote.js";
import { IFNAMSIZ, tapName, validateVmName } from "../../src/state/names.js";

describe("VM names up to 32 characters", () => {
  it("keeps short names' taps and hashes long ones into 15 characters", () => {
    expect(tapName("node1")).toBe("lab-node1");
    expect(tapName("abcdefghijk")).toBe("lab-abcdefghijk");
    const long = "a-rather-long-name-of-thirty-two";
    expect(validateVmName(long)).toBe(long);
    const tap = tapName(long);
    expect(tap).toMatch(/^lab_[0-9a-f]{11}$/);
    expect(tap.length).toBeLessThanOrEqual(IFNAMSIZ);
    expect(tapName(`${long.slice(0, -1)}x`)).not.toBe(tap);
    expect(() => validateVmName(`${long}x`)).toThrow(/invalid VM name/);
  });
});

describe("port forwards", () => {
  it("parses HOST:GUEST[/proto] and refuses the rest", () => {
    expect(parsePublish("8080:80")).toEqual({ host: 8080, guest: 80, proto: "tcp" });
    expect(parsePublish("5353:53/udp")).toEqual({ host: 5353, guest: 53, proto: "udp" });
    for (const bad of ["80", "0:80", "70000:80", "a:b", "80:80/sctp", "1:2:3"])
      expect(() => parsePublish(bad), bad).toThrow(/port/);
  });

  it("refuses a host port another VM publishes (same protocol only)", () => {
    const others = [{ name: "web", ports: [parsePublish("8080:80")] }];
    expect(() => checkPortsFree("api", [parsePublish("8080:8080")], others)).toThrow(
      /8080\/tcp is already published by VM web/,
    );
    expect(() => checkPortsFree("api", [parsePublish("8080:53/udp")], others)).not.toThrow();
    expect(() => checkPortsFree("web", [parsePublish("8080:81")], others)).not.toThrow();
    expect(() => checkPortsFree("a", [parsePublish("1:2"), parsePublish("1:3")], [])).toThrow(/twice/);
  });

  const none = { filter: parseIptablesS(""), nat: parseIptablesS("") };
  const input = { vm: "web", ip: "172.16.11.10", bridge: "labbr0", ports: [parsePublish("8080:80")] };

  it("plans its own chain, the jumps, a DNAT and a DNAT-only accept", () => {
    expect(planPortRules(input, none)).toEqual([
      ["-t", "nat", "-N", "LAB-PORTS"],
      ["-t", "nat", "-I", "PREROUTING", "1", "-j", "LAB-PORTS"],
      ["-t", "nat", "-I", "OUTPUT", "1", "!", "-d", "127.0.0.0/8", "-j", "LAB-PORTS"],
      [
        ...["-t", "nat", "-A", "LAB-PORTS", "-p", "tcp", "-m", "addrtype", "--dst-type", "LOCAL"],
        ...["-m", "tcp", "--dport", "8080", "-m", "comment", "--comment", "lab-port:web"],
        ...["-j", "DNAT", "--to-destination", "172.16.11.10:80"],
      ],
      [
        ...["-t", "filter", "-I", "LAB-FORWARD", "1", "-d", "172.16.11.10/32", "-o", "labbr0"],
        ...["-p", "tcp", "-m", "tcp", "--dport", "80", "-m", "conntrack", "--ctstate", "DNAT"],
        ...["-m", "comment", "--comment", "lab-port:web", "-j", "ACCEPT"],
      ],
    ]);
  });

  it("changes nothing when the rules are there, and removes chain and jumps with the last forward", () => {
    const nat = parseIptablesS(
      [
        "-P PREROUTING ACCEPT",
        "-N LAB-PORTS",
        "-A PREROUTING -j LAB-PORTS",
        "-A OUTPUT ! -d 127.0.0.0/8 -j LAB-PORTS",
        '-A LAB-PORTS -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "lab-port:web" -j DNAT --to-destination 172.16.11.10:80',
      ].join("\n"),
    );
    const filter = parseIptablesS(
      '-N LAB-FORWARD\n-A LAB-FORWARD -d 172.16.11.10/32 -o labbr0 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "lab-port:web" -j ACCEPT\n',
    );
    expect(planPortRules(input, { nat, filter })).toEqual([]);
    const down = planPortRules({ ...input, ports: [] }, { nat, filter });
    expect(down.map((s) => s.slice(0, 4).join(" "))).toEqual([
      "-t nat -D LAB-PORTS",
      "-t filter -D LAB-FORWARD",
      "-t nat -D PREROUTING",
      "-t nat -D OUTPUT",
      "-t nat -X LAB-PORTS",
    ]);
    // Another VM's forward keeps the chain.
    expect(planPortRules({ ...input, vm: "other", ports: [] }, { nat, filter })).toEqual([]);
  });
});

describe("lab exec and lab cp", () => {
  it("quotes each argument for the remote shell", () => {
    expect(remoteCommand(["echo", "a b", "it's", "$HOME"])).toBe(`echo 'a b' 'it'\\''s' '$HOME'`);
  });

  it("tells the VM side from local paths", () => {
    expect(parseCopyEnd("node1:/etc/hostname")).toEqual({ vm: "node1", path: "/etc/hostname" });
    expect(parseCopyEnd("./a:b")).toEqual({ local: "./a:b" });
    expect(parseCopyEnd("/tmp/x")).toEqual({ local: "/tmp/x" });
    expect(() => copyVm(parseCopyEnd("a:/x"), parseCopyEnd("b:/y"))).toThrow(/not between two VMs/);
    expect(() => copyVm(parseCopyEnd("x"), parseCopyEnd("y"))).toThrow(/neither side/);
    const target = {
      name: "node1",
      ip: "172.16.11.10",
      user: "core",
      keyFile: "/k",
      knownHostsFile: "/kh",
      hostKeys: 1,
    };
    const argv = scpArgv(target, parseCopyEnd("node1:/etc/hostname"), parseCopyEnd("out"));
    expect(argv[0]).toBe("scp");
    expect(argv.slice(-3)).toEqual(["--", "core@172.16.11.10:/etc/hostname", "out"]);
    expect(argv).toContain("StrictHostKeyChecking=yes");
  });
});
