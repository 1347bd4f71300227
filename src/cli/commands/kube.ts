// lab kubeconfig: a kubeconfig for the host's kubectl, from the API server's record in etcd.
import { writeFile } from "node:fs/promises";
import { readApiserverRecord } from "../../kube/api.js";
import { renderKubeconfig } from "../../kube/record.js";
import { fleetEndpoint } from "./fleet.js";

interface KubeconfigOpts {
  output?: string;
  endpoint?: string;
}

export async function kubeconfigCommand(opts: KubeconfigOpts): Promise<void> {
  // The etcd machine runs fleet's API too: its address is the one 'lab fleet' finds.
  const etcdIp = new URL(await fleetEndpoint({ endpoint: opts.endpoint })).hostname;
  const text = renderKubeconfig(await readApiserverRecord(etcdIp));
  if (!opts.output) return void process.stdout.write(text);
  await writeFile(opts.output, text, { mode: 0o600 });
  process.stdout.write(`wrote ${opts.output}: KUBECONFIG=${opts.output} kubectl get nodes\n`);
}
