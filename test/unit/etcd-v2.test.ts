// The v2 check against a stand-in HTTP server answering as etcd 3.5 does with and without
// --enable-v2 (/version JSON; /v2/keys/ 404 "404 page not found" when v2 is off).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EtcdV2MissingError } from "../../src/errors.js";
import { probeEtcdV2 } from "../../src/fleet/etcd-v2.js";
import { writeFlannelConfig } from "../../src/fleet/flannel-key.js";
import { retry } from "../../src/lab/run/fleet-steps.js";

let server: http.Server | undefined;

/** A stand-in etcd on a free loopback port. */
async function etcd(v2: boolean): Promise<number> {
  server = http.createServer((req, res) => {
    if (req.url === "/version") return void res.end('{"etcdserver":"3.5.16","etcdcluster":"3.5.0"}');
    if (v2 && req.url?.startsWith("/v2/keys")) return void res.end('{"action":"get","node":{"dir":true}}');
    res.statusCode = 404;
    res.end("404 page not found\n");
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe("etcd v2 check", () => {
  it("tells v2, no v2 and no answer apart", async () => {
    const on = await etcd(true);
    expect(await probeEtcdV2("127.0.0.1", 2000, undefined, on)).toEqual({ kind: "v2", version: "3.5.16" });
    await new Promise((r) => server!.close(r));
    const off = await etcd(false);
    expect(await probeEtcdV2("127.0.0.1", 2000, undefined, off)).toEqual({
      kind: "no-v2",
      version: "3.5.16",
    });
    await new Promise((r) => server!.close(r));
    server = undefined;
    expect((await probeEtcdV2("127.0.0.1", 2000, undefined, off)).kind).toBe("unreachable");
  });

  it("retry gives up at once on an etcd without v2, and keeps trying other errors", async () => {
    let calls = 0;
    const fatal = retry(
      async () => {
        calls++;
        throw new EtcdV2MissingError("no v2");
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    await expect(fatal).rejects.toBeInstanceOf(EtcdV2MissingError);
    expect(calls).toBe(1);
    calls = 0;
    await retry(
      async () => {
        if (++calls < 3) throw new Error("not yet");
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    expect(calls).toBe(3);
  });

  it("flannel's seed is refused with the fix when etcd has no v2", async () => {
    const off = await etcd(false);
    const err = await writeFlannelConfig(
      "127.0.0.1",
      { Network: "10.0.0.0/16" } as never,
      undefined,
      off,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdV2MissingError);
    expect((err as EtcdV2MissingError).hint).toMatch(/--enable-v2=true.*lab mirror add --for fleet/);
  });
});
