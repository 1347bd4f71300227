// The image store with real qemu-img, bzip2 and cp. Pulls go to a fake Flatcar release tree
// served on 127.0.0.1: by this process for the domain functions, and inside a namespace this
// test creates for the CLI + daemon (whose start-up reconcile must not see the host's firewall).
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LabContext } from "../../src/context.js";
import { createHost } from "../../src/host/host.js";
import { imageStatus } from "../../src/image/status.js";
import { importImage, listImages, pullImage, removeImage, resolveImage } from "../../src/image/store.js";
import { EventLog } from "../../src/state/events.js";
import { LedgerStore, type VmSpec } from "../../src/state/ledger.js";
import { Mutex } from "../../src/state/mutex.js";
import { paths } from "../../src/state/paths.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns } from "../helpers/netns.js";
import { skipUnless } from "../helpers/require.js";

const run = promisify(execFile);
const skip = skipUnless(["qemu-img", "bzip2", "ip"]);
const VERSION = "4081.2.0";
const FILE = "flatcar_production_qemu_image.img.bz2";
const bundle = path.join(repoRoot, ".cache/images/lab-test");

const sha = (algo: string, data: Buffer) => createHash(algo).update(data).digest("hex");
const digestsFor = (data: Buffer) =>
  ["md5", "sha1", "sha512"].map((a) => `# ${a.toUpperCase()} HASH\n${sha(a, data)}  ${FILE}\n`).join("");

interface Server {
  url: string;
  requests: string[];
  mode: { wrongDigest?: boolean; truncate?: boolean; slowMs?: number; garbage?: Buffer };
  close: () => Promise<void>;
}

/** Serves `root` like a release server; `mode` breaks the image or its digest on purpose. */
async function startServer(root: string): Promise<Server> {
  const requests: string[] = [];
  const mode: Server["mode"] = {};
  const server = http.createServer(async (req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(url);
    let body: Buffer;
    try {
      body = await readFile(path.join(root, path.normalize(url)));
    } catch {
      res.writeHead(404).end("not found");
      return;
    }
    if (mode.wrongDigest && url.endsWith(".DIGESTS")) body = Buffer.from(digestsFor(Buffer.from("other")));
    // Not bzip2 at all, but exactly what the digest promises: bzip2 itself must fail.
    if (mode.garbage && url.endsWith(".DIGESTS")) body = Buffer.from(digestsFor(mode.garbage));
    if (mode.garbage && url.endsWith(".bz2")) body = mode.garbage;
    res.writeHead(200, { "content-length": body.length });
    if (!url.endsWith(".bz2") || !(mode.truncate || mode.slowMs)) return void res.end(body);
    const half = Math.floor(body.length / 2);
    res.write(body.subarray(0, half));
    await new Promise((r) => setTimeout(r, mode.slowMs ?? 100));
    if (mode.truncate) return void res.socket?.destroy();
    res.end(body.subarray(half));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/{channel}/amd64-usr`,
    requests,
    mode,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Random bytes that look like a raw disk (an MBR boot signature), as lab requires of raw images. */
function mbrDisk(): Buffer {
  const b = randomBytes(1 << 20);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** A small qcow2 with some random data, bzip2-compressed, in each channel's directory. */
async function buildReleaseTree(work: string): Promise<{ root: string; qcow2: Buffer }> {
  const raw = path.join(work, "seed.raw");
  await writeFile(raw, Buffer.concat([randomBytes(1 << 20), Buffer.alloc(3 << 20)]));
  const qcow2Path = path.join(work, "flatcar_production_qemu_image.img");
  await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2Path]);
  await run("bzip2", ["-kf", qcow2Path]);
  const bz2 = await readFile(`${qcow2Path}.bz2`);
  const root = path.join(work, "release");
  for (const channel of ["stable", "beta", "alpha"]) {
    const dir = path.join(root, channel, "amd64-usr");
    const versionTxt = `FLATCAR_BUILD=4081\nFLATCAR_VERSION=${VERSION}\nFLATCAR_VERSION_ID=${VERSION}\nFLATCAR_BUILD_ID="2024-10-01-0000"\n`;
    for (const v of ["current", VERSION]) {
      await mkdir(path.join(dir, v), { recursive: true });
      await writeFile(path.join(dir, v, "version.txt"), versionTxt);
      await writeFile(path.join(dir, v, FILE), bz2);
      await writeFile(path.join(dir, v, `${FILE}.DIGESTS`), digestsFor(bz2));
    }
  }
  return { root, qcow2: await readFile(qcow2Path) };
}

async function makeContext(home: string, run: string): Promise<LabContext> {
  const p = paths({ home, run });
  await mkdir(home, { recursive: true });
  const ctx = {
    host: createHost(),
    paths: p,
    ledger: await LedgerStore.open(p.ledger),
    events: new EventLog(p.events),
    lock: new Mutex(),
  };
  return ctx as unknown as LabContext;
}

const vmSpec = (name: string, image: string): VmSpec => ({
  name,
  role: "etcd",
  image,
  memoryMiB: 256,
  cpus: 1,
  network: "default",
  sshKeys: [],
  configDrive: "iso",
  restart: "no",
  accel: "tcg",
  wantRunning: false,
  createdAt: new Date().toISOString(),
});

async function leftovers(ctx: LabContext): Promise<string[]> {
  return (await readdir(ctx.paths.imagesDir).catch(() => [] as string[])).filter((n) => n.startsWith("."));
}

async function qemuFormat(file: string): Promise<string> {
  return JSON.parse((await run("qemu-img", ["info", "--output=json", file])).stdout).format;
}

describe.skipIf(skip)("lab image (real qemu-img and bzip2, fake Flatcar release server)", () => {
  let work: string;
  let tree: { root: string; qcow2: Buffer };
  let server: Server;
  let ctx: LabContext;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "lab-image-"));
    tree = await buildReleaseTree(work);
    server = await startServer(tree.root);
    ctx = await makeContext(path.join(work, "home"), path.join(work, "run"));
    if (!existsSync(path.join(bundle, "manifest.json"))) {
      await execa("npx", ["zx", "scripts/build-test-image.mjs"], { cwd: repoRoot });
    }
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const images = () => server.requests.filter((r) => r.endsWith(".bz2"));

  it("pull resolves 'current', verifies the SHA512, unpacks and stores the qcow2", async () => {
    const events: Record<string, unknown>[] = [];
    const r = await pullImage(
      { ...ctx, progress: (message, data) => events.push({ message, ...data }) },
      "flatcar-stable",
      {
        baseUrl: server.url,
      },
    );
    expect(r.changed).toBe(true);
    expect(r.manifest).toMatchObject({
      name: "flatcar-stable",
      version: VERSION,
      format: "qcow2",
      disk: "disk.qcow2",
      fleet: false,
      guest: "flatcar",
      features: { configDrive: ["iso9660", "9p"] },
      source: {
        kind: "pull",
        channel: "stable",
        url: expect.stringContaining(`/stable/amd64-usr/${VERSION}/${FILE}`),
      },
    });
    expect(r.manifest.boot).toBeUndefined();
    expect(await qemuFormat(r.diskPath)).toBe("qcow2");
    expect(sha("sha256", await readFile(r.diskPath))).toBe(sha("sha256", tree.qcow2));
    expect((await resolveImage(ctx.paths, "flatcar-stable")).diskPath).toBe(r.diskPath);
    const downloads = events.filter((e) => e.message === "downloading");
    expect(downloads.at(-1)).toMatchObject({ bytes: expect.any(Number), total: expect.any(Number) });
    expect(downloads.at(-1)!.bytes).toBe(downloads.at(-1)!.total);
    expect(server.requests).toEqual([
      "/stable/amd64-usr/current/version.txt",
      `/stable/amd64-usr/${VERSION}/${FILE}.DIGESTS`,
      `/stable/amd64-usr/${VERSION}/${FILE}`,
    ]);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("a second pull of the same release downloads nothing", async () => {
    server.requests.length = 0;
    const r = await pullImage(ctx, "flatcar-stable", { baseUrl: server.url });
    expect(r.changed).toBe(false);
    expect(server.requests).toEqual(["/stable/amd64-usr/current/version.txt"]);
  });

  it("a wrong digest keeps nothing", async () => {
    server.mode.wrongDigest = true;
    try {
      await expect(pullImage(ctx, "flatcar-beta", { baseUrl: server.url })).rejects.toThrow(
        /SHA512 of .* does not match/,
      );
    } finally {
      server.mode.wrongDigest = false;
    }
    expect(existsSync(ctx.paths.image("flatcar-beta").dir)).toBe(false);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("a download the server breaks off keeps nothing", async () => {
    server.mode.truncate = true;
    try {
      await expect(pullImage(ctx, "flatcar-alpha", { baseUrl: server.url })).rejects.toThrow(
        /broke off|ended after/,
      );
    } finally {
      server.mode.truncate = false;
    }
    expect(existsSync(ctx.paths.image("flatcar-alpha").dir)).toBe(false);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("a file bzip2 cannot unpack keeps nothing, and says bzip2 failed", async () => {
    server.mode.garbage = randomBytes(4096);
    try {
      await expect(pullImage(ctx, "flatcar-beta", { baseUrl: server.url })).rejects.toThrow(/bzip2 failed/);
    } finally {
      server.mode.garbage = undefined;
    }
    expect(existsSync(ctx.paths.image("flatcar-beta").dir)).toBe(false);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("two pulls of one image at the same time download once", async () => {
    server.requests.length = 0;
    server.mode.slowMs = 500;
    const seen: string[][] = [[], []];
    try {
      const [a, b] = await Promise.all(
        [0, 1].map((i) =>
          pullImage({ ...ctx, progress: (m) => seen[i]!.push(m) }, "flatcar-alpha", { baseUrl: server.url }),
        ),
      );
      expect([a!.changed, b!.changed]).toEqual([true, true]);
    } finally {
      server.mode.slowMs = undefined;
    }
    expect(images()).toHaveLength(1);
    expect(seen[0]).toContain("downloading");
    expect(seen[1]).toContain("downloading");
    expect(await qemuFormat((await resolveImage(ctx.paths, "flatcar-alpha")).diskPath)).toBe("qcow2");
  });

  it("imports a raw disk; the same bytes again change nothing; other formats are refused", async () => {
    const raw = path.join(work, "my.img");
    await writeFile(raw, randomBytes(1 << 20));
    await expect(importImage(ctx, raw, "myraw")).rejects.toThrow(/not a disk image/);
    await writeFile(raw, mbrDisk());
    const r = await importImage(ctx, raw, "myraw");
    expect(r).toMatchObject({ changed: true, manifest: { format: "raw", disk: "disk.raw", fleet: false } });
    expect(r.manifest.boot).toBeUndefined();
    expect(r.manifest.source?.sha256).toBe(sha("sha256", await readFile(raw)));
    expect((await importImage(ctx, raw, "myraw")).changed).toBe(false);
    await writeFile(raw, mbrDisk());
    expect((await importImage(ctx, raw, "myraw")).changed).toBe(true);

    const vmdk = path.join(work, "x.vmdk");
    await run("qemu-img", ["create", "-q", "-f", "vmdk", vmdk, "1M"]);
    await expect(importImage(ctx, vmdk, "x")).rejects.toThrow(/vmdk image; lab takes qcow2 or raw/);
    const overlay = path.join(work, "overlay.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw, overlay]);
    await expect(importImage(ctx, overlay, "x")).rejects.toThrow(/overlay on/);
    await expect(importImage(ctx, raw)).rejects.toThrow(/--name is required/);
    await expect(importImage(ctx, raw, "Bad_Name")).rejects.toThrow(/invalid image name/);
    await expect(importImage(ctx, path.join(work, "nope.img"), "x")).rejects.toThrow(/does not exist/);
    expect(existsSync(ctx.paths.image("x").dir)).toBe(false);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("imports the lab-test bundle with its kernel and initrd; same version again is a no-op", async () => {
    const r = await importImage(ctx, bundle, "lab-test");
    expect(r.changed).toBe(true);
    expect(r.manifest).toMatchObject({ guest: "lab-test", format: "qcow2", boot: { kernel: "vmlinuz" } });
    expect(r.kernelPath && existsSync(r.kernelPath)).toBe(true);
    expect(r.initrdPath && existsSync(r.initrdPath)).toBe(true);
    expect((await importImage(ctx, bundle)).changed).toBe(false);
  });

  it("refuses bundles naming files outside themselves or symlinks", async () => {
    const evil = path.join(work, "evil");
    await mkdir(evil);
    await copyFile(path.join(bundle, "disk.qcow2"), path.join(evil, "disk.qcow2"));
    const m = { name: "evil", format: "qcow2", disk: "../my.img", fleet: false };
    await writeFile(path.join(evil, "manifest.json"), JSON.stringify(m));
    await expect(importImage(ctx, evil)).rejects.toThrow(/disk: must be a plain file name/);
    await symlink("/etc/hostname", path.join(evil, "vmlinuz"));
    const withLink = { ...m, disk: "disk.qcow2", boot: { kernel: "vmlinuz", cmdline: "" } };
    await writeFile(path.join(evil, "manifest.json"), JSON.stringify(withLink));
    await expect(importImage(ctx, evil)).rejects.toThrow(/vmlinuz.*is not a regular file/);
    expect(existsSync(ctx.paths.image("evil").dir)).toBe(false);
  });

  it("lists every image with its users; a broken directory is listed with its problem", async () => {
    await mkdir(ctx.paths.image("broken").dir);
    const list = await listImages(ctx.paths);
    expect(list.map((i) => i.name)).toEqual([
      "broken",
      "flatcar-alpha",
      "flatcar-stable",
      "lab-test",
      "myraw",
    ]);
    expect(list[0]!.problems?.[0]).toMatch(/manifest.json is missing/);
    await expect(resolveImage(ctx.paths, "broken")).rejects.toThrow(/image broken is broken/);
    await expect(resolveImage(ctx.paths, "nosuch")).rejects.toThrow(/no image named nosuch/);
    await removeImage(ctx, "broken");
    const status = await imageStatus(ctx);
    expect(status.find((i) => i.name === "lab-test")).toMatchObject({
      boot: "direct",
      usedBy: [],
      guest: "lab-test",
    });
    expect(status.find((i) => i.name === "flatcar-stable")).toMatchObject({ boot: "disk", version: VERSION });
  });

  it("rm and replace are refused while a ledger VM or an overlay on disk uses the image", async () => {
    await ctx.ledger.update((l) => {
      l.vms.n1 = vmSpec("n1", "myraw");
    });
    await expect(removeImage(ctx, "myraw")).rejects.toThrow(/cannot remove image myraw: used by VM n1/);
    const raw = path.join(work, "my.img");
    await writeFile(raw, mbrDisk());
    await expect(importImage(ctx, raw, "myraw")).rejects.toThrow(/cannot replace image myraw: used by VM n1/);
    expect((await imageStatus(ctx)).find((i) => i.name === "myraw")?.usedBy).toEqual(["n1"]);
    await ctx.ledger.update((l) => {
      delete l.vms.n1;
    });

    // A VM directory the ledger does not know about, with an overlay on lab-test.
    const orphan = ctx.paths.vm("orphan");
    await mkdir(orphan.dir, { recursive: true });
    const base = (await resolveImage(ctx.paths, "lab-test")).diskPath;
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, orphan.disk]);
    await expect(removeImage(ctx, "lab-test")).rejects.toThrow(/used by VM orphan/);
    await rm(orphan.dir, { recursive: true });

    await removeImage(ctx, "lab-test");
    await removeImage(ctx, "myraw");
    expect(existsSync(ctx.paths.image("lab-test").dir)).toBe(false);
    await expect(removeImage(ctx, "myraw")).rejects.toThrow(/no image named myraw/);
    expect(await leftovers(ctx)).toEqual([]);
  });

  it("cleans temp dirs a crashed process left behind", async () => {
    const stale = path.join(ctx.paths.imagesDir, ".tmp-999999999-deadbeef-flatcar-stable");
    await mkdir(stale);
    await writeFile(path.join(stale, "disk.qcow2"), "half");
    await importImage(ctx, path.join(work, "my.img"), "again");
    expect(await leftovers(ctx)).toEqual([]);
    await removeImage(ctx, "again");
  });
});

// The in-namespace release server: the daemon runs in the namespace, where 127.0.0.1 is its own.
const SERVER = `
import http from "node:http"; import { readFile } from "node:fs/promises"; import path from "node:path";
const [root, port] = process.argv.slice(1);
http.createServer(async (req, res) => {
  console.log(req.url);
  try {
    const body = await readFile(path.join(root, path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname))));
    res.writeHead(200, { "content-length": body.length }).end(body);
  } catch { res.writeHead(404).end(); }
}).listen(Number(port), "127.0.0.1", () => console.log("ready"));
`;

describe.skipIf(skip)("lab image CLI through labd (in a namespace)", () => {
  let work: string;
  let lab: LabEnv;
  let serverLog = "";
  let stopServer: (() => void) | undefined;
  const base = "http://127.0.0.1:18080/{channel}/amd64-usr";

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli/commands/image.js")))
      throw new Error("run npm run build first");
    work = await mkdtemp(path.join(tmpdir(), "lab-image-cli-"));
    const tree = await buildReleaseTree(work);
    lab = await createLabEnv(await createNetns("labI"));
    const child = execa("ip", [
      "netns",
      "exec",
      lab.ns,
      process.execPath,
      "--input-type=module",
      "-e",
      SERVER,
      tree.root,
      "18080",
    ]);
    child.catch(() => undefined);
    stopServer = () => child.kill();
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (d: Buffer) => {
        serverLog += d.toString();
        if (serverLog.includes("ready")) resolve();
      });
      child.once("exit", () => reject(new Error("release server exited")));
    });
  });

  afterAll(async () => {
    stopServer?.();
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("pulls with progress, then knows it has that release", async () => {
    const first = await lab.lab(["image", "pull", "flatcar-stable", "--base-url", base]);
    expect(first.stdout).toMatch(new RegExp(`image flatcar-stable: pulled release ${VERSION}`));
    expect(first.stderr).toMatch(/downloading .* of .*\(100%\)/);
    const again = await lab.labJson<{ changed: boolean }>([
      "image",
      "pull",
      "flatcar-stable",
      "--base-url",
      base,
    ]);
    expect(again.changed).toBe(false);
    expect(serverLog.split("\n").filter((l) => l.endsWith(".bz2"))).toHaveLength(1);
    const catalog = await lab.labJson<{ name: string; installed?: string }[]>(["image", "catalog"]);
    expect(catalog.find((e) => e.name === "flatcar-stable")?.installed).toBe(VERSION);
  });

  it("imports, lists and removes; errors carry their exit codes and hints", async () => {
    const raw = path.join(work, "cli.img");
    await writeFile(raw, mbrDisk());
    const imported = await lab.labJson<{ changed: boolean; name: string }>([
      "image",
      "import",
      raw,
      "--name",
      "r1",
    ]);
    expect(imported).toMatchObject({ changed: true, name: "r1" });
    const list = await lab.labJson<{ name: string; format: string }[]>(["image", "list"]);
    expect(list.map((i) => [i.name, i.format])).toEqual([
      ["flatcar-stable", "qcow2"],
      ["r1", "raw"],
    ]);
    const table = await lab.lab(["image", "list"]);
    expect(table.stdout).toMatch(/^NAME\s+VERSION\s+FORMAT\s+SIZE\s+GUEST\s+FLEET\s+BOOT\s+USED BY/);
    expect((await lab.lab(["image", "rm", "r1"])).stdout).toMatch(/image r1: removed/);
    const missing = await lab.lab(["image", "rm", "r1"], { reject: false });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/hint: see 'lab image list'/);
    const unknown = await lab.lab(["image", "pull", "nosuch", "--base-url", base], { reject: false });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/flatcar-stable, flatcar-beta, flatcar-alpha/);
  });
});
