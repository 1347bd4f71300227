// The typed client: requests are checked before they leave (nothing is sent), paths and queries
// are built from the route, and answers are parsed into the documented shape.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_DIGEST } from "../../src/api/digest.js";
import { labApi } from "../../src/client/api.js";
import { LabClient } from "../../src/client/client.js";
import { createServer } from "../../src/daemon/server.js";

const dir = mkdtempSync(path.join(tmpdir(), "lab-api-client-"));
const api = labApi(new LabClient({ home: dir, run: dir }));
const seen: string[] = [];
const network = {
  network: {
    name: "a b",
    subnet: "10.1.0.0/24",
    gateway: "10.1.0.1",
    prefix: 24,
    bridge: "labbr1",
    domain: "lab",
    dhcpStart: "10.1.0.128",
    dhcpEnd: "10.1.0.254",
    createdAt: "",
  },
  ovs: { kind: "private", dbSock: "/x", datapath: "netdev" },
  bridge: true,
  rules: false,
  reservations: [],
};
// Plain routes without schemas stand in for a labd that answers whatever it likes.
const server = createServer(
  [
    {
      method: "GET",
      pattern: "/v1/networks/:name",
      handler: async (req) => {
        seen.push(`GET ${req.params.name}`);
        return network; // no dnsmasqPid: absent, not null
      },
    },
    {
      method: "DELETE",
      pattern: "/v1/vms/:name",
      handler: async (req) => {
        seen.push(`DELETE ${req.params.name}?${req.query}`);
        return { name: req.params.name, removed: false, forgotten: req.query.get("forget") === "true" };
      },
    },
    { method: "GET", pattern: "/v1/vms", handler: async () => [{ name: "old-labd", state: "up" }] },
    {
      method: "POST",
      pattern: "/v1/vms",
      handler: async () => {
        seen.push("POST /v1/vms");
        return {};
      },
    },
  ],
  () => undefined,
);

beforeAll(() => new Promise<void>((resolve) => server.listen(api.client.socket, resolve)));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("typed client", () => {
  it("refuses a request its schema refuses before sending anything", async () => {
    const bad = { name: "x", role: "etcd", memoryMiB: "lots" } as unknown as Parameters<
      typeof api.vms.create
    >[0];
    await expect(api.vms.create(bad)).rejects.toMatchObject({
      code: "usage",
      message: "invalid request to POST /v1/vms: memoryMiB: expected a number",
    });
    expect(seen).not.toContain("POST /v1/vms");
  });

  it("fills path parameters (encoded) and the query", async () => {
    await api.vms.destroy("n1", { forget: true });
    const n = await api.networks.get("a b");
    expect(seen).toContain("DELETE n1?forget=true");
    expect(seen).toContain("GET a b");
    // The answer in the documented shape: an absent value is null.
    expect(n.dnsmasqPid).toBeNull();
    expect(n.network.name).toBe("a b");
  });

  it("turns an answer in an unknown shape into an error that says so", async () => {
    await expect(api.vms.list()).rejects.toMatchObject({
      code: "daemon_unavailable",
      message: expect.stringMatching(
        /answered GET \/v1\/vms in a shape this lab does not know \(\[0\]\.role: /,
      ),
    });
  });
});

// A bare socket server stands in for a labd of this or another version: what it says it checked the
// answer against decides whether the client checks it again.
describe("answers labd marks as checked", () => {
  const dir2 = mkdtempSync(path.join(tmpdir(), "lab-api-checked-"));
  const api2 = labApi(new LabClient({ home: dir2, run: dir2 }));
  let checked = API_DIGEST;
  const raw = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ result: [{ name: "n1", state: "odd" }], checked }));
  });
  beforeAll(() => new Promise<void>((resolve) => raw.listen(api2.client.socket, resolve)));
  afterAll(() => {
    raw.close();
    rmSync(dir2, { recursive: true, force: true });
  });

  it("takes an answer checked with the same schemas as it is", async () => {
    checked = API_DIGEST;
    expect(await api2.vms.list()).toEqual([{ name: "n1", state: "odd" }]);
  });

  it("checks an answer checked with other schemas (another labd version)", async () => {
    checked = "0".repeat(32);
    await expect(api2.vms.list()).rejects.toMatchObject({
      code: "daemon_unavailable",
      message: expect.stringMatching(/answered GET \/v1\/vms in a shape this lab does not know/),
    });
  });
});
