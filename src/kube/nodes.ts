// Reads the Kubernetes API's node list (GET /api/v1/nodes, a v1 NodeList) for what `lab up`
// reports: which of the lab's kubernetes machines have a node whose Ready condition is "True".
export interface NodeReadiness {
  ready: string[];
  notReady: string[];
  missing: string[];
}

interface NodeList {
  kind?: string;
  items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[];
}

export function nodeReadiness(list: unknown, expected: string[]): NodeReadiness {
  const l = list as NodeList;
  if (l?.kind !== "NodeList" || !Array.isArray(l.items)) throw new Error("not a NodeList");
  const ready = new Set<string>();
  const seen = new Set<string>();
  for (const item of l.items) {
    const name = item.metadata?.name;
    if (!name) continue;
    seen.add(name);
    if (item.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) ready.add(name);
  }
  return {
    ready: expected.filter((n) => ready.has(n)),
    notReady: expected.filter((n) => seen.has(n) && !ready.has(n)),
    missing: expected.filter((n) => !seen.has(n)),
  };
}
