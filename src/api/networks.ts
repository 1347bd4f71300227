// Network routes: `lab net up` takes NetUpRequest; every network answer carries the Network object.
import { z } from "zod";
import { NetworkSpec } from "../state/ledger.js";
import { networkPaths } from "./paths.js";
import { withSchemas } from "./route.js";
import { nullable } from "./shape.js";

export const NetUpRequest = z.strictObject({
  name: z.string().optional(),
  subnet: z.string().optional(),
  bridge: z.string().optional(),
  domain: z.string().optional(),
  dhcpRange: z.string().optional(),
});
export type NetUpRequest = z.infer<typeof NetUpRequest>;

export const OvsEndpoint = z
  .object({ kind: z.enum(["host", "private"]), dbSock: z.string(), datapath: z.string() })
  .meta({
    id: "OvsEndpoint",
    description: "The Open vSwitch lab talks to: the host's own, or a private one labd runs.",
  });

export const Reservation = z.object({ name: z.string(), mac: z.string(), ip: z.string() });

export const Network = z
  .object({
    network: NetworkSpec,
    ovs: OvsEndpoint,
    /** Observed: the bridge is in OVS's database and its interface exists. */
    bridge: z.boolean(),
    /** Observed: every firewall rule of the network is in place. */
    rules: z.boolean(),
    dnsmasqPid: nullable(z.number()),
    reservations: z.array(Reservation),
  })
  .meta({
    id: "Network",
    description: "A network: its spec and what is observed on the host (bridge, rules, dnsmasq).",
  });
export type Network = z.output<typeof Network>;

export const NetUpAnswer = z.object({ network: NetworkSpec, changed: z.array(z.string()) });
export const NetDownAnswer = z.object({ name: z.string(), removed: z.boolean() });

export const networkRoutes = withSchemas(networkPaths, {
  up: { body: NetUpRequest, answer: NetUpAnswer },
  list: { answer: z.array(Network) },
  get: { answer: Network },
  down: { answer: NetDownAnswer },
});
