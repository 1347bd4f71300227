// Runs a CNI network configuration list through real CNI plugins the way a container runtime
// does (containernetworking/cni libcni/api.go, AddNetworkList/DelNetworkList): each plugin of the
// list in order with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH in
// its environment and its own config on stdin, with the list's name and cniVersion injected
// (buildOneConfig) and the previous plugin's result as prevResult; DEL runs the plugins in reverse
// with the cached ADD result as prevResult (cniVersion >= 0.4.0). The plugins run inside the node's
// network namespace, as the kubelet's containerd would on the node.
import { execa } from "execa";

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

/** Runs plugin TYPE on the node with the CNI environment and the config on stdin. */
export interface CniRuntime {
  run(
    type: string,
    env: Record<string, string>,
    stdin: string,
  ): Promise<{ exitCode?: number; stdout: string; stderr: string }>;
}

/** The node is a network namespace on this host; the plugins are in `dirs` (CNI_PATH). */
export function netnsRuntime(nodeNs: string, dirs: string[]): CniRuntime {
  return {
    run: async (type, env, stdin) => {
      const r = await execa("ip", ["netns", "exec", nodeNs, `${dirs[0]}/${type}`], {
        input: stdin,
        reject: false,
        env: { ...env, CNI_PATH: dirs.join(":"), PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
        extendEnv: false,
      });
      return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}

export interface Attachment {
  containerId: string;
  /** Path of the pod's network namespace, e.g. /var/run/netns/NAME. */
  netns: string;
  ifName: string;
  /** Capability arguments (runtimeConfig), given only to plugins that declare the capability. */
  capabilityArgs?: Record<string, unknown>;
}

interface ConfList {
  cniVersion: string;
  name: string;
  plugins: ({ type: string; capabilities?: Record<string, boolean> } & Record<string, unknown>)[];
}

const cache = new Map<string, CniResult>();

function oneConfig(
  list: ConfList,
  plugin: ConfList["plugins"][number],
  prev: CniResult | undefined,
  att: Attachment,
): string {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prev) conf.prevResult = prev;
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {}))
    if (on && att.capabilityArgs && cap in att.capabilityArgs) rc[cap] = att.capabilityArgs[cap];
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  return JSON.stringify(conf);
}

async function exec(rt: CniRuntime, command: "ADD" | "DEL", type: string, stdin: string, att: Attachment) {
  const r = await rt.run(
    type,
    {
      CNI_COMMAND: command,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: att.netns,
      CNI_IFNAME: att.ifName,
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${att.containerId};K8S_POD_INFRA_CONTAINER_ID=${att.containerId}`,
    },
    stdin,
  );
  if (r.exitCode !== 0)
    throw new Error(`plugin type="${type}" failed (${command.toLowerCase()}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const key = (list: ConfList, att: Attachment) => `${list.name}-${att.containerId}-${att.ifName}`;

export async function addNetworkList(rt: CniRuntime, list: ConfList, att: Attachment): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    const out = await exec(rt, "ADD", plugin.type, oneConfig(list, plugin, result, att), att);
    result = JSON.parse(out) as CniResult;
  }
  if (!result) throw new Error(`network ${list.name} has no plugins`);
  cache.set(key(list, att), result);
  return result;
}

export async function delNetworkList(rt: CniRuntime, list: ConfList, att: Attachment): Promise<void> {
  const cached = cache.get(key(list, att));
  for (const plugin of [...list.plugins].reverse())
    await exec(rt, "DEL", plugin.type, oneConfig(list, plugin, cached, att), att);
  cache.delete(key(list, att));
}
