// After `lab up` launched the Kubernetes units: waits until every kubernetes machine of the lab
// has a Ready node in the API server's node list, reporting progress, or says which are not.

import { NotReadyError } from "../../errors.js";
import { apiGet, readApiserverRecord } from "../../kube/api.js";
import { type NodeReadiness, nodeReadiness } from "../../kube/nodes.js";
import type { Step } from "../plan/steps.js";

/** The kubernetes machines and the etcd address, when `lab up` launched a kubelet unit. */
export function kubeTargets(steps: Step[]): { etcdIp: string; nodes: string[] } | undefined {
  const kubelet = steps.find((s) => s.kind === "unit" && s.name === "kube-kubelet.service");
  if (kubelet?.kind !== "unit") return undefined;
  const nodes = steps.flatMap((s) => (s.kind === "vm" && s.body.role === "kubernetes" ? [s.name] : []));
  return nodes.length > 0 ? { etcdIp: kubelet.etcdIp, nodes } : undefined;
}

export async function waitForNodesReady(
  t: { etcdIp: string; nodes: string[]; etcdPort?: number },
  opts: { timeoutMs: number; intervalMs?: number; note?: (line: string) => void; signal?: AbortSignal },
): Promise<NodeReadiness> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: NodeReadiness | undefined;
  let lastError = "";
  let said = "";
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const record = await readApiserverRecord(t.etcdIp, t.etcdPort);
      last = nodeReadiness(await apiGet(record, "/api/v1/nodes"), t.nodes);
      const line = `kubernetes: ${last.ready.length}/${t.nodes.length} nodes Ready${last.ready.length ? ` (${last.ready.join(", ")})` : ""}`;
      if (line !== said) {
        said = line;
        opts.note?.(line);
      }
      if (last.ready.length === t.nodes.length) return last;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const why = last
        ? [
            last.notReady.length ? `not Ready: ${last.notReady.join(", ")}` : "",
            last.missing.length ? `not registered: ${last.missing.join(", ")}` : "",
          ]
            .filter(Boolean)
            .join("; ")
        : lastError;
      throw new NotReadyError(
        `Kubernetes nodes not Ready within ${Math.round(opts.timeoutMs / 1000)} s: ${why}`,
        {
          hint: "see 'lab fleet journal kube-kubelet.service' and 'lab fleet list-units'",
        },
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 3000));
  }
}
