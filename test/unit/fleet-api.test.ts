// The fleet client against answers recorded from a real fleetd v1.0.0 (test/fixtures/fleet-v1.0.0,
// re-recorded by LAB_RECORD_FIXTURES=1 on test/integration/fleet.test.ts), served on loopback.
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FleetClient } from "../../src/fleet/api.js";

interface Exchange {
  method: string;
  url: string;
  request: unknown;
  status: number;
  body: unknown;
}

const dir = path.join(import.meta.dirname, "../fixtures/fleet-v1.0.0");
const load = (phase: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`${phase}-`))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Exchange);

function serve(exchanges: Exchange[], seen: { method: string; url: string; body: string }[]) {
  return http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, body });
      const ex = exchanges.find((e) => e.method === req.method && e.url === req.url);
      res.writeHead(ex?.status ?? 599, { "content-type": "application/json" });
      res.end(ex?.body === null || ex === undefined ? "" : JSON.stringify(ex.body));
    });
  });
}

async function withFleet(
  phase: string,
  fn: (c: FleetClient, seen: { method: string; url: string; body: string }[]) => Promise<void>,
) {
  const seen: { method: string; url: string; body: string }[] = [];
  const server = serve(load(phase), seen);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    await fn(new FleetClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), seen);
  } finally {
    server.close();
  }
}

describe("fleet v1 API client (fleetd v1.0.0 fixtures)", () => {
  it("reads machines with metadata, and an empty unit list as no units", () =>
    withFleet("empty", async (c) => {
      const machines = await c.machines();
      expect(machines).toHaveLength(3);
      expect(machines.map((m) => m.metadata?.role).sort()).toEqual(["etcd", "kubernetes", "kubernetes"]);
      expect(await c.units()).toEqual([]);
      expect(await c.state()).toEqual([]);
    }));

  it("reads units, options and per-machine systemd states", () =>
    withFleet("running", async (c) => {
      const units = await c.units();
      expect(units.map((u) => u.name).sort()).toEqual([
        "hello-api.service",
        "hello-global.service",
        "hello-sidecar.service",
      ]);
      const api = await c.unit("hello-api.service");
      expect(api?.options).toContainEqual({
        section: "X-Fleet",
        name: "MachineMetadata",
        value: "role=kubernetes",
      });
      const global = await c.state("hello-global.service");
      expect(global).toHaveLength(2);
      expect(global.every((s) => s.systemdActiveState === "active")).toBe(true);
    }));

  it("turns fleet's error bodies into errors, and 404s on get/delete into 'absent'", () =>
    withFleet("errors", async (c, seen) => {
      expect(await c.unit("nope.service")).toBeUndefined();
      expect(await c.deleteUnit("nope.service")).toBe(false);
      await expect(c.putUnit("nope.service", "launched")).rejects.toThrow(
        /unit does not exist and options field empty \(HTTP 409\)/,
      );
      // fleet answers an invalid target state with a bare 500: the client never sends one.
      const before = seen.length;
      await expect(c.putUnit("fixture-bad-state.service", "started", [])).rejects.toThrow(
        /invalid target state/,
      );
      expect(seen.length).toBe(before);
    }));

  it("follows nextPageToken pages", async () => {
    const states = (load("running").find((e) => e.url === "/fleet/v1/state")!.body as { states: unknown[] })
      .states;
    const first = states.slice(0, 1);
    const second = states.slice(1);
    const pages: Exchange[] = [
      {
        method: "GET",
        url: "/fleet/v1/state",
        request: null,
        status: 200,
        body: { states: first, nextPageToken: "p2" },
      },
      {
        method: "GET",
        url: "/fleet/v1/state?nextPageToken=p2",
        request: null,
        status: 200,
        body: { states: second },
      },
    ];
    const seen: { method: string; url: string; body: string }[] = [];
    const server = serve(pages, seen);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const c = new FleetClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect(await c.state()).toHaveLength(states.length);
      expect(seen.map((s) => s.url)).toEqual(["/fleet/v1/state", "/fleet/v1/state?nextPageToken=p2"]);
    } finally {
      server.close();
    }
  });

  it("names the endpoint when fleet cannot be reached", async () => {
    await expect(new FleetClient("http://127.0.0.1:1").machines()).rejects.toThrow(
      /fleet at http:\/\/127\.0\.0\.1:1 is unreachable/,
    );
  });
});
