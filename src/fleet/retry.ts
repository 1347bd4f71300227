// When a fleet API request is worth sending again: fleet answers 5xx with an empty message while
// its engine or etcd settles right after a cluster forms, and refuses or drops connections while
// fleetd (re)starts. Which answers count as passing, the back-off between attempts and the notice
// a terminal gets; the request loop itself is in api.ts.

export interface RetryPolicy {
  /** How long to keep trying before giving up (ms since the first attempt); 0 = one attempt. */
  forMs: number;
  /** Pause after the first failure; doubled after each further one, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/** A minute covers fleet settling after the cluster forms (seen: under a minute on TCG guests). */
export const DEFAULT_RETRY: RetryPolicy = { forMs: 60_000, firstDelayMs: 250, maxDelayMs: 4000 };
export const NO_RETRY: RetryPolicy = { forMs: 0, firstDelayMs: 0, maxDelayMs: 0 };

/** What went wrong with one attempt, in words for people ("answered HTTP 500", "refused the connection"). */
export interface RetryNotice {
  method: string;
  path: string;
  /** Failed attempts so far (1 after the first). */
  failures: number;
  why: string;
  delayMs: number;
}

/** Status codes a settling fleet (or a proxy in front of it) answers; 501 would not pass. */
export const retryableStatus = (status: number) => status >= 500 && status !== 501 && status !== 505;

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

/** The words for a connection error worth retrying (fetch's cause code), or undefined. */
export function retryableConnectionError(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === "ECONNREFUSED") return "refused the connection";
  if (code && CONNECTION_CODES.has(code)) return `closed the connection (${code})`;
  if (/socket hang up|other side closed/i.test(cause?.message ?? "")) return "closed the connection";
  return undefined;
}

/** Pause before attempt `failures + 1`: firstDelayMs, doubled each time, capped. */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, failures - 1));
}

/** Whether another attempt fits: its pause must end within the bound. */
export function mayRetry(policy: RetryPolicy, startedAt: number, delayMs: number, now = Date.now()) {
  return policy.forMs > 0 && now + delayMs - startedAt <= policy.forMs;
}

interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * A notice for people at a terminal, once per command, when a retry failed as well: the first
 * retry is silent (a blip), a second one means fleet is settling and the command will take longer.
 */
export function ttyRetryNotice(stream: Stream): ((n: RetryNotice) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let said = false;
  return (n) => {
    if (said || n.failures < 2) return;
    said = true;
    stream.write(`fleet ${n.why}, retrying…\n`);
  };
}

/** A pause that ends early (rejecting) when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
