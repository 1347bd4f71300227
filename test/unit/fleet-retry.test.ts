// The fleet client's retries against a local HTTP server that answers as a settling fleetd does
// (HTTP 500 with {"error":{"code":500,"message":""}}, coreos/fleet api/serialization.go sendError
// with a nil error), and against a port nobody listens on yet.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConflictError, FleetApiError } from "../../src/errors.js";
import { FleetClient } from "../../src/fleet/api.js";
import { backoffMs, type RetryNotice, ttyRetryNotice } from "../../src/fleet/retry.js";

interface Seen {
  method: string;
  url: string;
  body: string;
}
type Handler = (req: Seen, n: number) => { status: number; body?: unknown; delayMs?: number };

const FLEET_500 = { error: { code: 500, message: "" } };
const FAST = { forMs: 3000, firstDelayMs: 5, maxDelayMs: 40 };
const servers: http.Server[] = [];

async function serve(handler: Handler, port = 0): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const s = { method: req.method!, url: req.url!, body };
      seen.push(s);
      const a = handler(s, seen.length);
      setTimeout(() => {
        res.writeHead(a.status, { "content-type": "application/json" });
        res.end(a.body === undefined ? "" : JSON.stringify(a.body));
      }, a.delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const UNIT = { name: "a.service", options: [{ section: "Service", name: "ExecStart", value: "/bin/true" }] };

describe("fleet client retries", () => {
  it("retries a GET that fleet answers 500 three times, then reads the answer", async () => {
    const { url, seen } = await serve((_r, n) =>
      n <= 3 ? { status: 500, body: FLEET_500 } : { status: 200, body: { units: [] } },
    );
    const notices: RetryNotice[] = [];
    const c = new FleetClient(url, { retry: FAST, onRetry: (n) => notices.push(n) });
    expect(await c.units()).toEqual([]);
    expect(seen).toHaveLength(4);
    expect(notices.map((n) => [n.failures, n.why])).toEqual([
      [1, "answered 500"],
      [2, "answered 500"],
      [3, "answered 500"],
    ]);
  });

  it("gives up after the bound with what fleet said and a hint", async () => {
    const { url, seen } = await serve(() => ({ status: 500, body: FLEET_500 }));
    // A client that ignored the bound would retry forever: the test's timeout ends it.
    const err = await new FleetClient(url, { retry: { ...FAST, forMs: 300 } })
      .units()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetApiError);
    const e = err as FleetApiError;
    expect(e.message).toMatch(
      /^fleet GET \/units: no message; body \{"error":\{"code":500,"message":""\}\} \(HTTP 500\); gave up after \d+ attempts over \d+ s$/,
    );
    expect(e.hint).toMatch(/settling after the cluster formed/);
    expect(e.details).toMatchObject({ status: 500, attempts: seen.length });
    expect(seen.length).toBeGreaterThan(1);
  });

  it("never pauses past the command's deadline", async () => {
    const { url, seen } = await serve(() => ({ status: 500, body: FLEET_500 }));
    // forMs alone would keep it retrying for a minute, past this test's timeout.
    const c = new FleetClient(url, { retry: { ...FAST, forMs: 60_000 }, deadline: Date.now() + 200 });
    await expect(c.units()).rejects.toThrow(/gave up after \d+ attempts over 0 s/);
    expect(seen.length).toBeGreaterThan(1);
  }, 20_000);

  it("a 500 with no retries allowed still names the status and hints", async () => {
    const { url, seen } = await serve(() => ({ status: 503 }));
    const c = new FleetClient(url, { retry: { forMs: 0, firstDelayMs: 0, maxDelayMs: 0 } });
    await expect(c.machines()).rejects.toThrow(/fleet GET \/machines: an empty body \(HTTP 503\)$/);
    expect(seen).toHaveLength(1);
  });

  it("waits through a refused connection until fleet listens", async () => {
    const port = await freePort();
    let listening: Promise<unknown> | undefined;
    const c = new FleetClient(`http://127.0.0.1:${port}`, {
      retry: FAST,
      onRetry: (n) => {
        expect(n.why).toBe("refused the connection");
        listening ??= serve(
          () => ({ status: 200, body: { machines: [{ id: "m1", primaryIP: "10.0.0.1" }] } }),
          port,
        );
      },
    });
    expect(await c.machines()).toEqual([{ id: "m1", primaryIP: "10.0.0.1" }]);
    expect(listening).toBeDefined();
  });

  it("retries a request fleet does not answer in time", async () => {
    const { url, seen } = await serve((_r, n) =>
      n === 1 ? { status: 200, body: { units: [] }, delayMs: 500 } : { status: 200, body: { units: [] } },
    );
    const notices: string[] = [];
    const c = new FleetClient(url, { timeoutMs: 100, retry: FAST, onRetry: (n) => notices.push(n.why) });
    expect(await c.units()).toEqual([]);
    expect(notices).toEqual(["did not answer within 0.1 s"]);
    expect(seen).toHaveLength(2);
  });

  it("never retries a 4xx answer", async () => {
    const { url, seen } = await serve(() => ({
      status: 409,
      body: { error: { code: 409, message: "unit does not exist and options field empty" } },
    }));
    await expect(new FleetClient(url, { retry: FAST }).putUnit("a.service", "launched")).rejects.toThrow(
      /options field empty \(HTTP 409\)/,
    );
    expect(seen).toHaveLength(1);
  });

  it("a retried create looks first: when the first attempt took effect only the desired state is sent", async () => {
    let created = false;
    const { url, seen } = await serve((r, n) => {
      if (r.method === "PUT" && n === 1) {
        created = true; // took effect, but the answer was lost in a 500
        return { status: 500, body: FLEET_500 };
      }
      if (r.method === "GET")
        return created ? { status: 200, body: { ...UNIT, desiredState: "inactive" } } : { status: 404 };
      return { status: 204 };
    });
    await new FleetClient(url, { retry: FAST }).putUnit("a.service", "launched", UNIT.options);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "PUT /fleet/v1/units/a.service",
      "GET /fleet/v1/units/a.service",
      "PUT /fleet/v1/units/a.service",
    ]);
    expect(JSON.parse(seen[2]!.body)).toEqual({ desiredState: "launched" });
  });

  it("a retried create resends the unit when it is still absent, and refuses one that appeared with other contents", async () => {
    const absent = await serve((r, n) =>
      r.method === "PUT" && n === 1
        ? { status: 502 }
        : r.method === "GET"
          ? { status: 404 }
          : { status: 201 },
    );
    await new FleetClient(absent.url, { retry: FAST }).putUnit("a.service", "launched", UNIT.options);
    expect(JSON.parse(absent.seen[2]!.body)).toEqual({ desiredState: "launched", options: UNIT.options });

    const other = await serve((r) =>
      r.method === "PUT"
        ? { status: 500, body: FLEET_500 }
        : { status: 200, body: { ...UNIT, options: [], desiredState: "inactive" } },
    );
    await expect(
      new FleetClient(other.url, { retry: FAST }).putUnit("a.service", "launched", UNIT.options),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(other.seen.filter((s) => s.method === "PUT")).toHaveLength(1);
  });

  it("a retried DELETE that finds the unit gone counts as absent", async () => {
    const { url, seen } = await serve((_r, n) =>
      n === 1 ? { status: 500, body: FLEET_500 } : { status: 404 },
    );
    expect(await new FleetClient(url, { retry: FAST }).deleteUnit("a.service")).toBe(false);
    expect(seen).toHaveLength(2);
  });

  it("backs off exponentially up to the cap", () => {
    const p = { forMs: 60_000, firstDelayMs: 250, maxDelayMs: 4000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(p, n))).toEqual([
      250, 500, 1000, 2000, 4000, 4000, 4000,
    ]);
  });

  it("tells a terminal once, after the first retry failed too; nothing on a pipe", () => {
    const out: string[] = [];
    const notice = { method: "GET", path: "/units", why: "answered 500", delayMs: 250 };
    const tty = ttyRetryNotice({ isTTY: true, write: (s: string) => out.push(s) })!;
    tty({ ...notice, failures: 1 });
    expect(out).toEqual([]);
    tty({ ...notice, failures: 2 });
    tty({ ...notice, failures: 3 });
    expect(out).toEqual(["fleet answered 500, retrying…\n"]);
    expect(ttyRetryNotice({ write: () => undefined })).toBeUndefined();
  });
});
