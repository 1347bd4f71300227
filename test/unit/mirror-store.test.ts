// The mirror store and server against real files in a temp LAB_HOME and HTTP on loopback only.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LabContext } from "../../src/context.js";
import { createHost } from "../../src/host/host.js";
import { addArtifact, importArtifact } from "../../src/mirror/add.js";
import { readMirrorIndex, writeMirrorIndex } from "../../src/mirror/index-file.js";
import { MirrorServers } from "../../src/mirror/server.js";
import { listArtifacts, removeArtifact } from "../../src/mirror/store.js";
import { networkRules } from "../../src/net/iptables-plan.js";
import type { NetworkSpec } from "../../src/state/ledger.js";
import { paths } from "../../src/state/paths.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const PAYLOAD = Buffer.from("fleetd pretend binary\n".repeat(1000));

let base: string;
let ctx: LabContext;
const events: string[] = [];

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), "lab-mirror-"));
  events.length = 0;
  ctx = {
    host: createHost(),
    paths: paths({ home: path.join(base, "home"), run: path.join(base, "run") }),
    events: { emit: (type: string) => events.push(type) },
  } as unknown as LabContext;
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A loopback HTTP server that counts the requests for each path. */
async function origin(): Promise<{ url: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    // Slow enough that a second add arrives while the first is still downloading.
    setTimeout(() => res.end(PAYLOAD), 150);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

describe("mirror store", () => {
  it("imports a file, and the same digest again changes nothing", async () => {
    const file = path.join(base, "fleetd");
    await writeFile(file, PAYLOAD, { mode: 0o644 });
    const first = await importArtifact(ctx, { name: "fleetd", path: file });
    expect(first).toMatchObject({
      changed: true,
      entry: { name: "fleetd", sha256: sha(PAYLOAD), source: "import" },
    });
    expect(await readFile(ctx.paths.mirror.artifact("fleetd"))).toEqual(PAYLOAD);
    expect((await stat(ctx.paths.mirror.artifact("fleetd"))).mode & 0o777).toBe(0o644);
    expect((await importArtifact(ctx, { name: "fleetd", path: file })).changed).toBe(false);
    await writeFile(file, "other bytes\n");
    await expect(importArtifact(ctx, { name: "fleetd", path: file })).rejects.toThrow(/another sha256/);
    expect(await readMirrorIndex(ctx.paths.mirror.index)).toHaveLength(1);
    expect(events).toEqual(["mirror.added"]);
  });

  it("keeps nothing when the downloaded digest does not match", async () => {
    const o = await origin();
    try {
      const wrong = sha("something else");
      await expect(addArtifact(ctx, { name: "hello", url: `${o.url}/hello`, sha256: wrong })).rejects.toThrow(
        /sha256 of .* is .*not the expected/,
      );
      expect(await readdir(ctx.paths.mirrorDir)).toEqual([]);
      expect(await listArtifacts(ctx)).toEqual([]);
    } finally {
      await o.close();
    }
  });

  it("downloads once for two adds at the same time, and not at all the third time", async () => {
    const o = await origin();
    try {
      const req = { name: "hello", url: `${o.url}/hello`, sha256: sha(PAYLOAD) };
      const [a, b] = await Promise.all([addArtifact(ctx, req), addArtifact(ctx, req)]);
      expect(a.entry).toEqual(b.entry);
      expect(a.entry).toMatchObject({ size: PAYLOAD.length, source: `${o.url}/hello` });
      expect((await addArtifact(ctx, req)).changed).toBe(false);
      expect(o.hits.get("/hello")).toBe(1);
      expect(await readdir(ctx.paths.mirrorDir)).toEqual(["hello", "index.json"]);
    } finally {
      await o.close();
    }
  });

  it("removes an artifact; removing it again is fine", async () => {
    const file = path.join(base, "f");
    await writeFile(file, "x", { mode: 0o644 });
    await importArtifact(ctx, { name: "f", path: file });
    expect(await removeArtifact(ctx, "f")).toEqual({ removed: true, name: "f" });
    expect(await removeArtifact(ctx, "f")).toEqual({ removed: false, name: "f" });
    expect(await readdir(ctx.paths.mirrorDir)).toEqual(["index.json"]);
  });
});

/** Sends a request line as is (no client-side path normalisation). */
function raw(port: number, requestLine: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let data = "";
    sock.on("data", (d) => {
      data += d.toString("latin1");
    });
    sock.on("end", () => {
      const [head = "", ...rest] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), body: rest.join("\r\n\r\n") });
    });
    sock.on("error", reject);
    sock.write(`${requestLine} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("mirror server", () => {
  const servers: MirrorServers[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stopAll();
  });

  it("serves index entries only, at the gateway address it was given", async () => {
    const file = path.join(base, "hello");
    await writeFile(file, PAYLOAD, { mode: 0o644 });
    await importArtifact(ctx, { name: "hello", path: file });
    await writeFile(path.join(ctx.paths.home, "lab.json"), "{}");
    // An index entry whose file is a symlink out of the mirror (planted by hand) is not followed.
    await symlink(path.join(ctx.paths.home, "lab.json"), ctx.paths.mirror.artifact("link"));
    const entries = await readMirrorIndex(ctx.paths.mirror.index);
    await writeMirrorIndex(ctx.paths.mirror.index, [...entries, { ...entries[0]!, name: "link", size: 2 }]);

    const port = await freePort();
    const mirror = new MirrorServers(ctx.paths, port, () => undefined);
    servers.push(mirror);
    const spec = { name: "default", gateway: "127.0.0.1" } as NetworkSpec;
    expect(await mirror.ensure(spec)).toBe(true);
    expect(await mirror.ensure(spec)).toBe(false);
    expect(mirror.listeners()).toEqual([{ network: "default", url: `http://127.0.0.1:${port}/` }]);

    const ok = await raw(port, "GET /hello");
    expect([ok.status, sha(Buffer.from(ok.body, "latin1"))]).toEqual([200, sha(PAYLOAD)]);
    expect(await raw(port, "GET /hello.sha256")).toEqual({ status: 200, body: `${sha(PAYLOAD)}  hello\n` });
    const list = await raw(port, "GET /");
    expect(JSON.parse(list.body).map((e: { name: string }) => e.name)).toEqual(["hello", "link"]);
    expect(await raw(port, "HEAD /hello")).toEqual({ status: 200, body: "" });
    expect((await raw(port, "POST /hello")).status).toBe(405);
    for (const p of ["/../lab.json", "/%2e%2e/lab.json", "/mirror/hello", "/index.json", "/link", "//hello"])
      expect((await raw(port, `GET ${p}`)).status, p).toBe(404);

    await mirror.stop("default");
    await expect(raw(port, "GET /hello")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("names the port when it is taken", async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", r));
    try {
      const mirror = new MirrorServers(ctx.paths, port, () => undefined);
      await expect(mirror.ensure({ name: "n", gateway: "127.0.0.1" } as NetworkSpec)).rejects.toThrow(
        /port is taken/,
      );
    } finally {
      blocker.close();
    }
  });

  it("is let in by the network's INPUT rules on the bridge", () => {
    const rules = networkRules({
      network: "default",
      subnet: "172.16.11.0/24",
      bridge: "labbr0",
      gateway: "172.16.11.1",
      mirrorPort: 8080,
    });
    expect(rules).toContainEqual({
      key: "input",
      verdict: "ACCEPT",
      spec: [
        "-i",
        "labbr0",
        "-p",
        "tcp",
        "-m",
        "comment",
        "--comment",
        "lab:default",
        "-m",
        "tcp",
        "--dport",
        "8080",
        "-j",
        "ACCEPT",
      ],
    });
  });
});
