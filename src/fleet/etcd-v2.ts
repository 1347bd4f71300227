// fleet v1.0.0 stores everything through etcd's v2 API (coreos/fleet registry/etcd.go), which
// etcd 3.4 and 3.5 serve only when started with --enable-v2=true and etcd 3.6 no longer has. An
// etcd that answers /version but 404s /v2/keys/ is the wrong etcd for fleet: say so at once, with
// the fix, instead of letting `lab up` or `lab fleet` wait for machines that can never register.
import { EtcdV2MissingError } from "../errors.js";

export const ETCD_CLIENT_PORT = 2379;

export type EtcdV2State =
  | { kind: "v2"; version?: string }
  | { kind: "no-v2"; version?: string }
  /** etcd does not answer (yet): not a verdict. */
  | { kind: "unreachable"; why: string };

async function get(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  return fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
}

/** Asks etcd at `ip` for its version and for the v2 keyspace's root. */
export async function probeEtcdV2(
  ip: string,
  timeoutMs = 3000,
  signal?: AbortSignal,
  port = ETCD_CLIENT_PORT,
): Promise<EtcdV2State> {
  const base = `http://${ip}:${port}`;
  let version: string | undefined;
  try {
    const v = await get(`${base}/version`, timeoutMs, signal);
    if (!v.ok) return { kind: "unreachable", why: `/version: HTTP ${v.status}` };
    version = ((await v.json().catch(() => ({}))) as { etcdserver?: string }).etcdserver;
    const keys = await get(`${base}/v2/keys/`, timeoutMs, signal);
    await keys.body?.cancel();
    return keys.ok ? { kind: "v2", version } : { kind: "no-v2", version };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { kind: "unreachable", why: (err as { cause?: { code?: string } }).cause?.code ?? String(err) };
  }
}

export function etcdV2MissingError(ip: string, version?: string): EtcdV2MissingError {
  return new EtcdV2MissingError(
    `etcd at ${ip}:${ETCD_CLIENT_PORT}${version ? ` (${version})` : ""} does not serve the v2 API that fleet needs`,
    {
      hint: "run etcd 3.5 with --enable-v2=true (3.6 has no v2 API): lab's etcd role does (lab-etcd.service, etcd from 'lab mirror add --for fleet'); recreate the etcd machine with it",
    },
  );
}

/** Throws EtcdV2MissingError when etcd answers without v2; an etcd that does not answer passes. */
export async function assertEtcdV2(
  ip: string,
  timeoutMs = 3000,
  signal?: AbortSignal,
  port = ETCD_CLIENT_PORT,
): Promise<void> {
  const state = await probeEtcdV2(ip, timeoutMs, signal, port);
  if (state.kind === "no-v2") throw etcdV2MissingError(ip, state.version);
}
