// labd's own routes (status, stop, recover, the host's routes for planning) and the event object.
import { z } from "zod";
import { NetworkSpec } from "../state/ledger.js";
import { VmRecord } from "../vm/record.js";
import { OvsEndpoint } from "./networks.js";
import { daemonPaths } from "./paths.js";
import { withSchemas } from "./route.js";

export const Daemon = z
  .object({
    pid: z.number(),
    home: z.string(),
    run: z.string(),
    uptimeSeconds: z.number(),
    ovs: OvsEndpoint,
  })
  .meta({ id: "Daemon", description: "The running labd." });

export const Event = z.looseObject({ time: z.string(), type: z.string() }).meta({
  description:
    "One line of the event log: when, what (`vm.started`, `network.up`, ...) and the fields of that type (`vm`, `network`, `image`, ...).",
});
export type Event = z.output<typeof Event>;

const RecoverItem = z.object({ name: z.string(), action: z.enum(["restore", "skip"]), why: z.string() });
export const RecoverAnswer = z
  .object({
    networks: z.array(RecoverItem),
    vms: z.array(RecoverItem),
    add: z.object({ networks: z.array(NetworkSpec), vms: z.array(VmRecord) }),
    applied: z.boolean(),
  })
  .meta({
    id: "Recover",
    description: "What `lab recover` found in VM directories the ledger does not know, and did.",
  });

export const HostRoutes = z.object({
  routes: z.array(z.object({ dst: z.string(), dev: z.string().optional() })),
  addresses: z.array(z.object({ ifname: z.string(), local: z.string(), prefixlen: z.number() })),
});

export const daemonRoutes = withSchemas(daemonPaths, {
  status: { answer: Daemon },
  stop: { answer: z.object({ stopping: z.boolean(), pid: z.number() }) },
  recover: { body: z.strictObject({ plan: z.boolean().optional() }), answer: RecoverAnswer },
  hostRoutes: { answer: HostRoutes },
  events: { answer: Event },
});
