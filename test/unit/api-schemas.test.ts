// The API's schemas at labd's door: a request a route's schema refuses gets 400 naming the field
// (over a real unix socket), and answers come back in the documented shape (missing values null).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../../src/api/index.js";
import { LabClient } from "../../src/client/client.js";
import { createServer } from "../../src/daemon/server.js";
import { typedRoute } from "../../src/daemon/typed-route.js";

const dir = mkdtempSync(path.join(tmpdir(), "lab-api-schemas-"));
const client = new LabClient({ home: dir, run: dir });
const created: unknown[] = [];
const vm = {
  name: "n1",
  role: "etcd",
  state: "stopped" as const,
  network: "default",
  image: "lab-test",
  memoryMiB: 256,
  cpus: 1,
  restart: "no",
  configDrive: "iso",
  tap: "lab-n1",
};
const server = createServer(
  [
    typedRoute(api.vms.create, async (_req, body) => {
      created.push(body);
      return { vm: { ...vm, name: body.name }, changed: true };
    }),
    typedRoute(api.vms.get, async () => vm),
    typedRoute(api.vms.destroy, async (req) => ({ name: req.params.name!, removed: true, forgotten: false })),
    // A handler whose answer does not fit its schema is labd's bug, not the client's.
    typedRoute(api.daemon.stop, async () => ({ stopping: "yes" }) as never),
  ],
  () => undefined,
);

beforeAll(() => new Promise<void>((resolve) => server.listen(client.socket, resolve)));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("API requests are checked with the route's schema", () => {
  it("answers 400 naming the field of a wrong type, and runs nothing", async () => {
    await expect(
      client.call("POST", "/v1/vms", { name: "a", role: "etcd", cpus: "two" }),
    ).rejects.toMatchObject({
      code: "usage",
      message: "invalid request to POST /v1/vms: cpus: expected a number",
    });
    await expect(
      client.call("POST", "/v1/vms", { name: "a", role: "etcd", configDrive: "floppy" }),
    ).rejects.toMatchObject({
      code: "usage",
      message: expect.stringMatching(/^invalid request .*: configDrive: /),
    });
    expect(created).toEqual([]);
  });

  it("names a missing field and an unknown one", async () => {
    await expect(client.call("POST", "/v1/vms", { role: "etcd" })).rejects.toMatchObject({
      message: "invalid request to POST /v1/vms: name: expected a string",
    });
    await expect(
      client.call("POST", "/v1/vms", { name: "a", role: "etcd", colour: "red" }),
    ).rejects.toMatchObject({
      message: "invalid request to POST /v1/vms: colour: unknown key",
      details: { problems: [{ path: "colour", message: "unknown key" }] },
    });
  });

  it("checks the query too", async () => {
    await expect(client.call("DELETE", "/v1/vms/a?forget=maybe")).rejects.toMatchObject({
      code: "usage",
      message: expect.stringMatching(/forget: /),
    });
    await expect(client.call("DELETE", "/v1/vms/a?forget=true")).resolves.toEqual({
      name: "a",
      removed: true,
      forgotten: false,
    });
  });

  it("passes a valid body to the handler as parsed", async () => {
    const r = await client.call("POST", "/v1/vms", { name: "ok", role: "etcd", sshKeys: [] });
    expect(created).toEqual([{ name: "ok", role: "etcd", sshKeys: [] }]);
    expect(r).toMatchObject({ vm: { name: "ok" }, changed: true });
  });
});

describe("API answers have one shape", () => {
  it("sends missing values as null, never absent", async () => {
    const answer = (await client.call("GET", "/v1/vms/n1")) as Record<string, unknown>;
    expect(answer).toEqual({
      ...vm,
      mac: null,
      ip: null,
      pid: null,
      uptimeSeconds: null,
      lastExit: null,
      ports: [],
    });
    expect(Object.keys(answer).sort()).toEqual(Object.keys(api.vms.get.answer.shape).sort());
  });

  it("refuses to send an answer that does not fit the schema (an internal error, not a wrong shape)", async () => {
    await expect(client.call("POST", "/v1/daemon/stop", {})).rejects.toMatchObject({
      code: "internal",
      message: expect.stringMatching(/does not fit its schema: stopping: expected a boolean/),
    });
  });
});

describe("docs/json-shapes.md", () => {
  it("is what the schemas say (run 'npm run schema' after changing src/api)", async () => {
    const { readFile } = await import("node:fs/promises");
    const { renderApiDoc } = await import("../../src/api/doc.js");
    const onDisk = await readFile(path.join(import.meta.dirname, "../../docs/json-shapes.md"), "utf8");
    expect(onDisk).toBe(renderApiDoc());
    expect(renderApiDoc()).toMatch(/ {2}ip: string \| null\n/);
  });
});

describe("src/api/digest.ts", () => {
  it("is the digest of the schemas (run 'npm run schema' after changing src/api)", async () => {
    const { API_DIGEST } = await import("../../src/api/digest.js");
    const { apiDigest } = await import("../../src/api/fingerprint.js");
    expect(API_DIGEST).toBe(apiDigest());
    expect(API_DIGEST).toMatch(/^[0-9a-f]{32}$/);
  });
});
