// The API server's record that kube-apiserver's units publish in etcd (/lab/kubernetes/apiserver,
// written by cloud-config/include/lab-kube.sh apiserver-publish): "URL TOKEN CERT_B64 CLIENT_CA_B64",
// with a TTL. Parsed with the checks lab-kube's nodes apply, and turned into a kubeconfig. Behind an
// API VIP (networks[].cluster.apiVip) every API server publishes the same record: the VIP's URL and
// the lab CA that signed each API server's certificate.
import yaml from "js-yaml";
import { UsageError } from "../errors.js";

export const APISERVER_KEY = "/lab/kubernetes/apiserver";
/** The TTL lab-kube gives the record; a record without one (or a longer one) is not lab's. */
export const RECORD_TTL_S = 60;

export interface ApiserverRecord {
  server: string;
  token: string;
  /**
   * What verifies the server, base64 PEM: the API server's self-signed certificate, or behind a VIP
   * the lab CA that signed every API server's certificate.
   */
  caData: string;
}

const B64 = /^[A-Za-z0-9+/=]+$/;

/** An etcd v2 key answer ({node: {value, ttl}}) for the record, checked like the nodes check it. */
export function parseApiserverRecord(answer: unknown): ApiserverRecord {
  const node = (answer as { node?: { value?: unknown; ttl?: unknown } } | undefined)?.node;
  const bad = (why: string) =>
    new UsageError(`the API server record in etcd (${APISERVER_KEY}) ${why}`, {
      hint: "is kube-apiserver.service running? ('lab fleet list-units'); the record is re-published every 20 s",
    });
  if (typeof node?.value !== "string") throw bad("is missing");
  if (typeof node.ttl !== "number" || node.ttl > RECORD_TTL_S)
    throw bad(`has no TTL of at most ${RECORD_TTL_S} s: it was not written by lab-kube apiserver-publish`);
  const [server, token, caData] = node.value.split(" ");
  if (
    !/^https:\/\/[0-9.]+:\d+$/.test(server ?? "") ||
    !/^[0-9a-f]+$/.test(token ?? "") ||
    !B64.test(caData ?? "")
  )
    throw bad("is not in the expected form");
  return { server: server!, token: token!, caData: caData! };
}

export function renderKubeconfig(r: ApiserverRecord, cluster = "lab"): string {
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server: r.server, "certificate-authority-data": r.caData } }],
    users: [{ name: `${cluster}-admin`, user: { token: r.token } }],
    contexts: [{ name: cluster, context: { cluster, user: `${cluster}-admin` } }],
    "current-context": cluster,
  });
}
