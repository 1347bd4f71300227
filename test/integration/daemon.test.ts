// labd's control socket: permissions, malformed and oversized requests, clients that go away.
import { statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLabEnv, daemonPid, type LabEnv } from "../helpers/lab.js";
import { createNetns, deleteAllNetns } from "../helpers/netns.js";
import { skipUnless } from "../helpers/require.js";

const skip = skipUnless(["ip", "iptables"]);

function request(socket: string, method: string, url: string, body?: string | Buffer) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = http.request(
      { socketPath: socket, method, path: url, headers: { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe.skipIf(skip)("labd control socket", () => {
  let lab: LabEnv;
  let socket: string;

  beforeAll(async () => {
    lab = await createLabEnv(await createNetns("labD"));
    await lab.lab(["daemon", "start"]);
    socket = path.join(lab.run, "labd.sock");
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it("is root-owned with mode 0660", () => {
    const st = statSync(socket);
    expect(st.uid).toBe(0);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("rejects malformed, oversized and unknown requests with a clear error and keeps serving", async () => {
    const bad = await request(socket, "POST", "/v1/networks", "{not json");
    expect(bad.status).toBe(400);
    expect((bad.json.error as { message: string }).message).toMatch(/not valid JSON/);
    const big = await request(socket, "POST", "/v1/networks", Buffer.alloc(2 * 1024 * 1024, 0x61)).catch(
      (e: Error) => ({
        status: 413,
        json: { error: { message: e.message } },
      }),
    );
    expect(big.status).not.toBe(200);
    const wrongType = await request(socket, "POST", "/v1/networks", JSON.stringify({ name: 42 }));
    expect((wrongType.json.error as { message: string }).message).toMatch(/name: expected a string/);
    const array = await request(socket, "POST", "/v1/vms", "[1,2]");
    expect((array.json.error as { message: string }).message).toMatch(/JSON object/);
    const unknown = await request(socket, "GET", "/v1/nothing");
    expect(unknown.status).toBe(400);
    const ok = await request(socket, "GET", "/v1/daemon");
    expect(ok.status).toBe(200);
    expect((ok.json.result as { pid: number }).pid).toBe(await daemonPid(lab));
  });

  it("an operation runs to the end when its client disconnects", async () => {
    await new Promise<void>((resolve) => {
      const req = http.request({
        socketPath: socket,
        method: "POST",
        path: "/v1/networks",
        headers: { "content-type": "application/json" },
      });
      req.on("error", () => resolve());
      req.end(JSON.stringify({ name: "gone", subnet: "172.16.40.0/24" }));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    let status: { network: { name: string }; dnsmasqPid?: number; bridge: boolean } | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const r = await lab.lab(["net", "status", "gone", "--json"], { reject: false });
      if (r.exitCode === 0) {
        // `net status NAME --json` prints the one-element list every listing prints.
        status = JSON.parse(r.stdout)[0];
        if (status?.dnsmasqPid) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status?.bridge).toBe(true);
    expect(status?.dnsmasqPid).toBeGreaterThan(0);
    await lab.lab(["net", "down", "gone"]);
  });
});
