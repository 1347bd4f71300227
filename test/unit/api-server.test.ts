// The control API answers malformed and oversized requests with 400/413 and a clear message,
// over a real unix socket, and the CLI's client turns those answers into errors (no resets).
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { route } from "../../src/api/route.js";
import { LabClient } from "../../src/client/client.js";
import { createServer, jsonDepth, localCaller, MAX_BODY_BYTES } from "../../src/daemon/server.js";

const dir = mkdtempSync(path.join(tmpdir(), "lab-api-"));
const client = new LabClient({ home: dir, run: dir });
const logged: string[] = [];
const server = createServer(
  [
    { method: "GET", pattern: "/v1/echo/:name", handler: async (req) => ({ name: req.params.name }) },
    { method: "POST", pattern: "/v1/echo/:name", handler: async (req) => ({ keys: Object.keys(req.body) }) },
  ],
  (m) => logged.push(m),
);

beforeAll(() => new Promise<void>((resolve) => server.listen(client.socket, resolve)));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function rawPost(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: client.socket,
        method: "POST",
        path: "/v1/echo/x",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("control API on bad requests", () => {
  it("answers 400 to a malformed percent-encoding in the path", async () => {
    await expect(client.call("GET", "/v1/echo/ok%20name")).resolves.toEqual({ name: "ok name" });
    await expect(client.call("GET", "/v1/echo/%E0%A4%A")).rejects.toMatchObject({
      code: "usage",
      message: expect.stringMatching(/malformed percent-encoding/),
    });
  });

  it("answers 400 to a 100000-deep JSON body without parsing it", async () => {
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const r = await rawPost(deep);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.message).toMatch(/nests deeper than 64 levels/);
    const deepObject = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    expect((await rawPost(deepObject)).status).toBe(400);
    expect(jsonDepth('{"a":"[[[[{{","b":[[1]]}')).toBe(3);
    expect(logged).toEqual([]);
  });

  it("answers 413 to a body over 1 MiB, and the client shows it instead of a reset", async () => {
    const big = { blob: "x".repeat(MAX_BODY_BYTES + 10) };
    await expect(client.call("POST", "/v1/echo/x", big)).rejects.toMatchObject({
      code: "too_large",
      message: expect.stringMatching(/larger than the API takes/),
    });
    // The server keeps serving.
    await expect(client.call("POST", "/v1/echo/x", { a: 1 })).resolves.toEqual({ keys: ["a"] });
  });
});

describe("labd's routes called in process (the web page's state and actions)", () => {
  const body = z.object({ n: z.number().int() });
  const answer = z.object({ name: z.string(), n: z.number(), missing: z.string().nullable().default(null) });
  const typed = route({ method: "POST", path: "/v1/things/:name", summary: "t", body, answer });
  const call = localCaller([
    {
      method: "POST",
      pattern: typed.path,
      api: typed,
      handler: async (req) => ({ name: req.params.name, n: (req.body as { n: number }).n }),
    },
  ]);

  it("matches the path, decodes its parameters and answers in the route's shape", async () => {
    expect(await call("POST", "/v1/things/a%20b", { n: 2 })).toEqual({ name: "a b", n: 2, missing: null });
  });

  it("validates the request as the socket does", async () => {
    await expect(call("POST", "/v1/things/a", { n: "two" })).rejects.toThrow(/n/);
  });

  it("refuses a path or method it does not serve", async () => {
    await expect(call("GET", "/v1/things/a")).rejects.toThrow(/no such API path/);
    await expect(call("POST", "/v1/other")).rejects.toThrow(/no such API path/);
  });
});
