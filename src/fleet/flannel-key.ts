// flannel's one key in etcd: lab up and `lab fleet` read it and write its network config there,
// through etcd's v2 API (what fleet-era flannel reads) and its v3 JSON gateway (flannel >= 0.14).
// Only the lab's own etcd machine is ever contacted.
import { FleetApiError } from "../errors.js";
import { assertEtcdV2 } from "./etcd-v2.js";

export const ETCD_PORT = 2379;
export const FLANNEL_KEY = "/coreos.com/network/config";

/** flannel's network config, as stored at FLANNEL_KEY. */
export interface FlannelConfig {
  Network: string;
  SubnetLen: number;
  Backend: { Type: string };
}

const REQUEST_TIMEOUT_MS = 5000;

async function request(url: string, init: RequestInit & { signal?: AbortSignal }): Promise<Response> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    return await fetch(url, {
      ...init,
      signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
    });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new FleetApiError(`${init.method ?? "GET"} ${url}: ${why}`, {
      hint: "is the etcd machine up? see 'lab vm logs NAME'",
      cause: err,
    });
  }
}

async function failure(res: Response, what: string): Promise<FleetApiError> {
  const body = (await res.text().catch(() => "")).trim();
  return new FleetApiError(`${what}: HTTP ${res.status}${body ? `: ${body}` : ""}`);
}

const etcdKeyUrl = (ip: string, port = ETCD_PORT) => `http://${ip}:${port}/v2/keys${FLANNEL_KEY}`;

export async function readFlannelConfig(ip: string, signal?: AbortSignal): Promise<string | undefined> {
  const res = await request(etcdKeyUrl(ip), { signal });
  if (res.status === 404) return undefined;
  if (!res.ok) throw await failure(res, `etcd: reading ${FLANNEL_KEY}`);
  return ((await res.json()) as { node?: { value?: string } }).node?.value;
}

export async function writeFlannelConfig(
  ip: string,
  config: FlannelConfig,
  signal?: AbortSignal,
  port = ETCD_PORT,
) {
  await assertEtcdV2(ip, REQUEST_TIMEOUT_MS, signal, port);
  const res = await request(etcdKeyUrl(ip, port), {
    method: "PUT",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ value: JSON.stringify(config) }).toString(),
    signal,
  });
  if (!res.ok) throw await failure(res, `etcd: writing ${FLANNEL_KEY}`);
  // flannel since 0.14 reads its config through etcd's v3 API, whose keys are apart from v2's:
  // the same value goes to both (v3 through etcd's JSON gateway, keys and values in base64).
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const v3 = await request(`http://${ip}:${port}/v3/kv/put`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: b64(FLANNEL_KEY), value: b64(JSON.stringify(config)) }),
    signal,
  });
  if (!v3.ok) throw await failure(v3, `etcd (v3 API): writing ${FLANNEL_KEY}`);
}
