import { describe, expect, it } from "vitest";
import type { Network as NetStatus } from "../../src/api/networks.js";
import type { Vm as VmStatus } from "../../src/api/vms.js";
import { formatUptime, layoutTopology, NO_NETWORK, type VmView } from "../../src/web/layout.js";
import { DEFAULT_WEB_PORT, parseListen } from "../../src/web/listen.js";
import { gatherState, placeUnits, readiness, type StateSource } from "../../src/web/state.js";
import { requestHasToken, tokenMatches, tokensFromHeaders } from "../../src/web/token.js";

const vmView = (name: string, network: string, units = 0): VmView => ({
  name,
  role: "kubernetes",
  state: "running",
  network,
  uptime: "",
  ready: true,
  units: Array.from({ length: units }, (_, i) => ({ name: `u${i}.service`, state: "launched" })),
});

const vmStatus = (name: string, ip: string, role = "kubernetes"): VmStatus =>
  ({ name, role, ip, state: "running", network: "default", uptimeSeconds: 75 }) as VmStatus;

describe("web listen address", () => {
  it("defaults to loopback and takes ADDR, ADDR:PORT and [V6]:PORT", () => {
    expect(parseListen(undefined)).toEqual({ host: "127.0.0.1", port: DEFAULT_WEB_PORT });
    expect(parseListen("0.0.0.0")).toEqual({ host: "0.0.0.0", port: DEFAULT_WEB_PORT });
    expect(parseListen("10.0.0.5:8080")).toEqual({ host: "10.0.0.5", port: 8080 });
    expect(parseListen("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
    expect(parseListen("::1")).toEqual({ host: "::1", port: DEFAULT_WEB_PORT });
  });

  it("refuses names, octal-looking addresses and bad ports with a hint", () => {
    for (const bad of ["localhost", "localhost:80", "010.0.0.1", "1.2.3.4:99999", "1.2.3.4:x", "[::1]:-1"])
      expect(() => parseListen(bad), bad).toThrow(/--listen/);
  });
});

describe("web token", () => {
  it("matches only the same token", () => {
    expect(tokenMatches("abc", "abc")).toBe(true);
    expect(tokenMatches("abc", "abd")).toBe(false);
    expect(tokenMatches("abc", "abcd")).toBe(false);
    expect(tokenMatches("abc", undefined)).toBe(false);
    expect(tokenMatches("", "")).toBe(false);
  });

  it("finds the token in a bearer header, any of our cookies, or a websocket subprotocol", () => {
    expect(tokensFromHeaders({ authorization: "Bearer t1" })).toEqual(["t1"]);
    expect(tokensFromHeaders({ cookie: "other=x; lab_web_9000=t2; lab_web_7780=t3" })).toEqual(["t2", "t3"]);
    expect(tokensFromHeaders({ "sec-websocket-protocol": "chat, lab-token.t4" })).toEqual(["t4"]);
    expect(tokensFromHeaders({ cookie: "lab_web_1=%E0%A4%A" })).toEqual([]);
    // A forwarded port names another cookie; a stale cookie from an earlier labd does not spoil the right one.
    expect(requestHasToken("good", { cookie: "lab_web_9000=stale; lab_web_7780=good" })).toBe(true);
    expect(requestHasToken("good", { cookie: "lab_web_7780=stale" })).toBe(false);
    expect(requestHasToken("good", { cookie: "session=good" })).toBe(false);
    expect(requestHasToken("good", {})).toBe(false);
  });
});

describe("web topology layout", () => {
  it("puts each network in its own column with its VMs below, in name order, without overlaps", () => {
    const net = (name: string) => ({
      name,
      subnet: "172.16.11.0/24",
      bridge: "br",
      gateway: "172.16.11.1",
      dhcp: "",
      domain: "lab",
      bridgeUp: true,
      nat: true,
      dns: true,
    });
    const p = layoutTopology(
      [net("b"), net("a")],
      [vmView("n2", "a"), vmView("n1", "a", 3), vmView("x", "b"), vmView("lost", "gone")],
    );
    expect(p.networks.map((n) => n.net.name)).toEqual(["a", "b", NO_NETWORK]);
    expect(p.vms.map((v) => v.vm.name)).toEqual(["n1", "n2", "x", "lost"]);
    const [n1, n2, x, lost] = p.vms;
    expect(n1!.x).toBe(n2!.x);
    expect(n2!.y).toBeGreaterThanOrEqual(n1!.y + n1!.h);
    expect(n1!.h).toBeGreaterThan(n2!.h); // room for its three units
    expect(x!.x).toBeGreaterThan(n1!.x + n1!.w);
    expect(lost!.x).toBeGreaterThan(x!.x + x!.w);
    for (const b of [...p.vms, ...p.networks]) {
      expect(b.x + b.w).toBeLessThanOrEqual(p.width);
      expect(b.y + b.h).toBeLessThanOrEqual(p.height);
    }
    // uplink → each real network, network → each of its VMs; none for the orphan column.
    expect(p.links).toHaveLength(2 + 3);
  });

  it("says uptimes as people do", () => {
    expect([5, 420, 3 * 3600 + 720, 2 * 86400 + 4 * 3600].map(formatUptime)).toEqual([
      "5s",
      "7m",
      "3h12m",
      "2d4h",
    ]);
    expect(formatUptime(undefined)).toBe("");
    expect(formatUptime(null)).toBe(""); // a stopped VM, as labd answers
  });
});

describe("web state", () => {
  it("counts a VM ready only when a ready marker follows its last boot", () => {
    expect(readiness("")).toBe(false);
    expect(readiness('Linux version 6.1\n...\nLAB-READY {"name":"a"}\n')).toBe(true);
    expect(readiness('Linux version 6.1\nLAB-READY {"name":"a"}\nLinux version 6.1\nbooting\n')).toBe(false);
    expect(readiness("Linux version 6.1\nLAB-SSH-HOSTKEYS-DONE\n")).toBe(true);
  });

  it("places fleet units on the VM whose IP is the machine's", () => {
    const vms = [vmStatus("etcd", "172.16.11.10", "etcd"), vmStatus("n1", "172.16.11.11")];
    const placed = placeUnits(
      vms,
      [
        { id: "m-etcd", primaryIP: "172.16.11.10" },
        { id: "m-n1", primaryIP: "172.16.11.11" },
      ],
      [
        {
          name: "web.service",
          options: [],
          desiredState: "launched",
          currentState: "launched",
          machineID: "m-n1",
        },
        { name: "etcd.service", options: [], desiredState: "launched", machineID: "m-etcd" },
        { name: "idle.service", options: [], desiredState: "inactive" },
      ],
    );
    expect(placed.get("n1")).toEqual({
      machineId: "m-n1",
      units: [{ name: "web.service", state: "launched" }],
    });
    expect(placed.get("etcd")?.units).toEqual([{ name: "etcd.service", state: "launched" }]);
  });

  it("draws the lab without fleet when fleet does not answer, and says so", async () => {
    const asked: string[] = [];
    const src: StateSource = {
      vms: async () => [vmStatus("etcd", "172.16.11.10", "etcd")],
      networks: async () => [
        {
          network: {
            name: "default",
            subnet: "172.16.11.0/24",
            prefix: 24,
            gateway: "172.16.11.1",
            bridge: "labbr0",
            domain: "lab",
            dhcpStart: "172.16.11.100",
            dhcpEnd: "172.16.11.200",
            createdAt: "",
          },
          ovs: "",
          bridge: true,
          rules: false,
          dnsmasqPid: null, // not running, as labd answers it
          reservations: [],
        } as unknown as NetStatus,
      ],
      mirrors: () => [{ network: "default", url: "http://172.16.11.1:8790/" }],
      serialTail: async () => "",
      fleet: async (ip) => {
        asked.push(ip);
        return undefined;
      },
    };
    const s = await gatherState(src);
    expect(asked).toEqual(["172.16.11.10"]);
    expect(s.fleet).toEqual({ note: "fleet does not answer on etcd (172.16.11.10)" });
    expect(s.picture.networks[0]!.net).toMatchObject({
      nat: false,
      dns: false,
      mirror: "http://172.16.11.1:8790/",
    });
    expect(s.picture.vms[0]!.vm).toMatchObject({ name: "etcd", uptime: "1m", ready: false, units: [] });
  });
});

describe("web topology layout of a big network", () => {
  it("spreads many VMs over side-by-side columns of cards instead of one long column", () => {
    const net = {
      name: "a",
      subnet: "",
      bridge: "",
      gateway: "",
      dhcp: "",
      domain: "",
      bridgeUp: true,
      nat: true,
      dns: true,
    };
    const many = Array.from({ length: 12 }, (_, i) => vmView(`n${String(i).padStart(2, "0")}`, "a"));
    const p = layoutTopology([net], many);
    const xs = new Set(p.vms.map((v) => v.x));
    expect(xs.size).toBe(3);
    expect(p.networks[0]!.w).toBeGreaterThan(3 * p.vms[0]!.w);
    for (const a of p.vms)
      for (const b of p.vms)
        if (a !== b)
          expect(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y).toBe(true);
  });
});
