import { describe, expect, it } from "vitest";
import { type Observed, parseIptablesS } from "../../src/host/iptables.js";
import { planNetworkRulesDown, planNetworkRulesUp, taggedNetworks } from "../../src/net/iptables-plan.js";

const net = { network: "default", subnet: "172.16.11.0/24", bridge: "labbr0", gateway: "172.16.11.1" };
const empty = (): Observed => ({
  filter: parseIptablesS("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"),
  nat: parseIptablesS("-P PREROUTING ACCEPT\n-P POSTROUTING ACCEPT\n"),
});

/** Applies planned argv to an observed model, the way iptables would. */
function apply(obs: Observed, steps: string[][]): Observed {
  for (const s of steps) {
    const table = obs[s[1] as "filter" | "nat"];
    const [op, chain] = [s[2]!, s[3]!];
    const rules = table.rules.get(chain) ?? [];
    if (op === "-N") table.chains.add(chain);
    if (op === "-X") table.chains.delete(chain);
    if (op === "-A") table.rules.set(chain, [...rules, s.slice(4)]);
    if (op === "-I") table.rules.set(chain, [s.slice(5), ...rules]);
    if (op === "-D") {
      const i = rules.findIndex((r) => r.join(" ") === s.slice(4).join(" "));
      if (i < 0) throw new Error(`deleting a rule that is not there: ${s.join(" ")}`);
      rules.splice(i, 1);
    }
  }
  return obs;
}

describe("iptables planning", () => {
  it("parses iptables -S output including quoted comments", () => {
    const t = parseIptablesS(
      '-N LAB-FORWARD\n-A LAB-FORWARD -s 172.16.11.0/24 -m comment --comment "lab:default" -j ACCEPT\n',
    );
    expect(t.chains.has("LAB-FORWARD")).toBe(true);
    expect(t.rules.get("LAB-FORWARD")).toEqual([
      ["-s", "172.16.11.0/24", "-m", "comment", "--comment", "lab:default", "-j", "ACCEPT"],
    ]);
  });

  it("scopes every rule to the subnet and bridge, never a blanket accept", () => {
    const steps = planNetworkRulesUp(net, empty());
    const forward = steps.filter((s) => s[2] !== "-N" && s[3] === "LAB-FORWARD");
    expect(forward.length).toBeGreaterThan(0);
    for (const s of forward) {
      expect(s).toContain("labbr0");
      expect(s).toContain("172.16.11.0/24");
      expect(s).toContain("lab:default");
    }
    expect(steps).toContainEqual(["-t", "filter", "-I", "FORWARD", "1", "-j", "LAB-FORWARD"]);
    expect(steps.some((s) => s.includes("MASQUERADE") && s.includes("!"))).toBe(true);
  });

  it("is idempotent: a second plan on the applied state is empty", () => {
    const obs = apply(empty(), planNetworkRulesUp(net, empty()));
    expect(planNetworkRulesUp(net, obs)).toEqual([]);
  });

  it("moves the jump back to the top when another tool inserted rules before it", () => {
    const obs = apply(empty(), planNetworkRulesUp(net, empty()));
    obs.filter.rules.get("FORWARD")!.unshift(["-j", "DOCKER-USER"]);
    const steps = planNetworkRulesUp(net, obs);
    expect(steps).toEqual([
      ["-t", "filter", "-D", "FORWARD", "-j", "LAB-FORWARD"],
      ["-t", "filter", "-I", "FORWARD", "1", "-j", "LAB-FORWARD"],
    ]);
  });

  it("removes only its own network's rules, and the chains once empty", () => {
    const other = { network: "b", subnet: "172.16.12.0/24", bridge: "labbr-b", gateway: "172.16.12.1" };
    let obs = apply(empty(), planNetworkRulesUp(net, empty()));
    obs = apply(obs, planNetworkRulesUp(other, obs));
    expect(taggedNetworks(obs)).toEqual(new Set(["default", "b"]));
    obs = apply(obs, planNetworkRulesDown("default", obs));
    expect(taggedNetworks(obs)).toEqual(new Set(["b"]));
    expect(obs.filter.chains.has("LAB-FORWARD")).toBe(true);
    obs = apply(obs, planNetworkRulesDown("b", obs));
    expect(obs.filter.chains.has("LAB-FORWARD")).toBe(false);
    expect(obs.nat.chains.has("LAB-POSTROUTING")).toBe(false);
    expect(obs.filter.rules.get("FORWARD")).toEqual([]);
    expect(planNetworkRulesDown("b", obs)).toEqual([]);
  });

  it("drops what the network does not invite: services off the bridge, new connections into the subnet", () => {
    const obs = apply(empty(), planNetworkRulesUp({ ...net, mirrorPort: 8080 }, empty()));
    const input = obs.filter.rules.get("LAB-INPUT")!.map((r) => r.join(" "));
    const forward = obs.filter.rules.get("LAB-FORWARD")!.map((r) => r.join(" "));
    for (const [proto, port] of [
      ["udp", 67],
      ["udp", 53],
      ["tcp", 53],
      ["tcp", 8080],
    ]) {
      expect(input).toContain(
        `-i labbr0 -p ${proto} -m comment --comment lab:default -m ${proto} --dport ${port} -j ACCEPT`,
      );
      expect(input).toContain(
        `-d 172.16.11.1/32 ! -i lo -p ${proto} -m comment --comment lab:default -m ${proto} --dport ${port} -j DROP`,
      );
    }
    expect(forward.at(-1)).toBe("-d 172.16.11.0/24 -o labbr0 -m comment --comment lab:default -j DROP");
    expect(forward).toContain(
      "-d 172.16.11.0/24 -o labbr0 -m comment --comment lab:default -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    );
  });

  it("keeps every accept above every drop, whatever the order networks came up or were repaired in", () => {
    const other = { network: "b", subnet: "172.16.12.0/24", bridge: "labbr-b", gateway: "172.16.12.1" };
    let obs = apply(empty(), planNetworkRulesUp(net, empty()));
    obs = apply(obs, planNetworkRulesUp(other, obs));
    // A lost accept (someone ran iptables -D) comes back above the drops.
    obs.filter.rules.set("LAB-FORWARD", obs.filter.rules.get("LAB-FORWARD")!.slice(1));
    obs = apply(obs, planNetworkRulesUp(net, obs));
    obs = apply(obs, planNetworkRulesUp(other, obs));
    for (const chain of ["LAB-FORWARD", "LAB-INPUT"]) {
      const verdicts = obs.filter.rules.get(chain)!.map((r) => r.at(-1));
      expect(verdicts.indexOf("DROP")).toBeGreaterThan(verdicts.lastIndexOf("ACCEPT"));
    }
    expect(planNetworkRulesUp(net, obs)).toEqual([]);
  });
});
