// The two requests lab makes about a lab's Kubernetes cluster: the API server's record from the
// etcd machine (etcd v2 keys API) and the node list from the API server, over HTTPS with the
// record's certificate as the only CA. Only lab VM addresses are contacted.
import https from "node:https";
import { FleetApiError } from "../errors.js";
import { APISERVER_KEY, type ApiserverRecord, parseApiserverRecord } from "./record.js";

const TIMEOUT_MS = 5000;

export async function readApiserverRecord(etcdIp: string, port = 2379): Promise<ApiserverRecord> {
  const url = `http://${etcdIp}:${port}/v2/keys${APISERVER_KEY}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new FleetApiError(`GET ${url}: ${(err as Error).message}`, {
      hint: "is the etcd machine up? see 'lab vm list'",
      cause: err,
    });
  }
  return parseApiserverRecord(res.status === 404 ? {} : await res.json());
}

/** GET PATH on the API server with the record's token, trusting only the record's certificate. */
export function apiGet(r: ApiserverRecord, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${r.server}${path}`,
      {
        ca: Buffer.from(r.caData, "base64"),
        headers: { authorization: `Bearer ${r.token}`, accept: "application/json" },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on("error", reject);
  });
}
