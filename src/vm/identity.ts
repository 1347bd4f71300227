// MAC and IP allocation. Identities are kept per VM name in the ledger until --forget, so a
// name gets the same MAC and IP across stop/start, daemon restarts and destroy + create.
import { randomBytes, randomUUID } from "node:crypto";
import { ConflictError, UsageError } from "../errors.js";
import { intToIp, ipToInt, parseIpv4 } from "../net/cidr.js";
import { addressingOf, fixedAddressProblem, freeStaticAddresses } from "../net/static-ips.js";
import type { Identity, Ledger, NetworkSpec } from "../state/ledger.js";

export type RandomBytes = (n: number) => Buffer;

/** A random, locally unique MAC with qemu's 52:54:00 prefix. */
export function allocateMac(ledger: Ledger, random: RandomBytes = randomBytes): string {
  const taken = new Set(Object.values(ledger.identities).map((i) => i.mac));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const b = random(3);
    const mac = `52:54:00:${[...b].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
    if (!taken.has(mac)) return mac;
  }
  throw new ConflictError("could not find a free MAC address");
}

function takenIps(ledger: Ledger, net: string, except: string): Set<number> {
  return new Set(
    Object.entries(ledger.identities)
      .filter(([name, id]) => id.network === net && name !== except)
      .map(([, id]) => ipToInt(id.ip)),
  );
}

/** The requested address if it is free and valid, else the first free static address. */
export function allocateIp(ledger: Ledger, net: NetworkSpec, vm: string, requested?: string): string {
  const addr = addressingOf(net);
  const taken = takenIps(ledger, net.name, vm);
  if (requested !== undefined) {
    const ip = ipToInt(parseIpv4(requested, "--ip"));
    const problem = fixedAddressProblem(addr, requested);
    if (problem === "not-host" || problem === "gateway") {
      throw new UsageError(`--ip ${requested} is not a usable host address in ${net.subnet}`, {
        hint: `the gateway is ${net.gateway}; pick another address in the subnet`,
      });
    }
    if (problem === "dhcp-range") {
      throw new UsageError(
        `--ip ${requested} is inside the DHCP range ${net.dhcpStart}-${net.dhcpEnd} of ${net.name}`,
        { hint: "dnsmasq hands those addresses to any machine: pick one outside the range" },
      );
    }
    const holder = Object.entries(ledger.identities).find(
      ([n, id]) => n !== vm && id.network === net.name && ipToInt(id.ip) === ip,
    );
    if (holder) {
      throw new ConflictError(`${requested} is reserved for ${holder[0]}`, {
        hint: `release it with 'lab vm destroy ${holder[0]} --forget', or pick another --ip`,
      });
    }
    return requested;
  }
  const free = freeStaticAddresses(addr, taken)[0];
  if (free === undefined) {
    throw new ConflictError(`no free address left for VMs in ${net.subnet}`, {
      hint: "forget unused VMs ('lab vm destroy NAME --forget') or use a bigger subnet",
    });
  }
  return intToIp(free);
}

/**
 * The identity a VM gets: the kept one when it exists (its IP re-checked against the network),
 * otherwise a new one.
 */
export function planIdentity(ledger: Ledger, net: NetworkSpec, vm: string, requestedIp?: string): Identity {
  const kept = ledger.identities[vm];
  if (kept && kept.network === net.name && (requestedIp === undefined || requestedIp === kept.ip))
    return kept;
  return {
    mac: kept?.mac ?? allocateMac(ledger),
    ip: allocateIp(ledger, net, vm, requestedIp),
    network: net.name,
    uuid: kept?.uuid ?? randomUUID(),
  };
}
