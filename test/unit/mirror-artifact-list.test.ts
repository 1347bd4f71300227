// Artifact lists (units/SET.artifacts.yaml), published digest files, and adding a list through
// the mirror store against HTTP on loopback only (no daemon).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addArtifactList, mirrorAddCommand } from "../../src/cli/commands/mirror.js";
import type { LabContext } from "../../src/context.js";
import { ConflictError, NotFoundError, UsageError } from "../../src/errors.js";
import { createHost } from "../../src/host/host.js";
import { addArtifact } from "../../src/mirror/add.js";
import {
  type ArtifactListEntry,
  displayPath,
  listArtifactSets,
  loadArtifactSet,
  parseArtifactList,
  parsePublishedDigest,
} from "../../src/mirror/artifact-list.js";
import { readMirrorIndex } from "../../src/mirror/index-file.js";
import { paths } from "../../src/state/paths.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const HEX = "5901b213bd94f5797eb852f8c9b68c885b46bc2f9fe32f96dc113351b7ee378a";
const FILE = "units/kubernetes.artifacts.yaml";
const FIXTURES = path.join(import.meta.dirname, "../fixtures/artifact-lists");
const UNITS = path.join(import.meta.dirname, "../../units");

/** A one-entry list with `fields` as the entry's YAML lines. */
const one = (...fields: string[]) => `artifacts:\n  - ${fields.join("\n    ")}\n`;
const parse = (text: string) => () => parseArtifactList(text, FILE);

describe("artifact list file", () => {
  it("parses the kubernetes example", async () => {
    const list = await loadArtifactSet("kubernetes", FIXTURES);
    expect(list.source).toBe(displayPath(path.join(FIXTURES, "kubernetes.artifacts.yaml")));
    expect(list.artifacts).toEqual([
      {
        name: "kube-apiserver-v1.35.0",
        url: "https://dl.k8s.io/release/v1.35.0/bin/linux/amd64/kube-apiserver",
        sha256Url: "https://dl.k8s.io/release/v1.35.0/bin/linux/amd64/kube-apiserver.sha256",
      },
      {
        name: "flanneld-v0.25.7",
        url: "https://github.com/flannel-io/flannel/releases/download/v0.25.7/flanneld-amd64",
        sha256: HEX,
        description: "flannel's overlay network daemon",
      },
    ]);
  });

  it("lower-cases a pinned digest", () => {
    const list = parseArtifactList(one("name: a", "url: http://x/a", `sha256: ${HEX.toUpperCase()}`), FILE);
    expect(list.artifacts[0]!.sha256).toBe(HEX);
  });

  it.each([
    ["missing url", one("name: a", `sha256: ${HEX}`), /artifacts\[0\]\.url: required/],
    ["missing name", one("url: http://x/a", `sha256: ${HEX}`), /artifacts\[0\]\.name: required/],
    [
      "both sha256 and sha256_url",
      one("name: a", "url: http://x/a", `sha256: ${HEX}`, "sha256_url: http://x/a.sha256"),
      /artifacts\[0\]\.sha256_url: give only one of sha256, sha256_url or trust/,
    ],
    [
      "neither sha256 nor sha256_url",
      one("name: a", "url: http://x/a"),
      /artifacts\[0\]\.sha256: give sha256 .* sha256_url .* trust: "first-use"/,
    ],
    [
      "bad hex",
      one("name: a", "url: http://x/a", "sha256: abc123"),
      /artifacts\[0\]\.sha256: expected 64 hex/,
    ],
    [
      "a number for a digest",
      one("name: a", "url: http://x/a", "sha256: 12345"),
      /artifacts\[0\]\.sha256: expected 64 hex/,
    ],
    [
      "unknown key",
      one("name: a", "url: http://x/a", `sha256: ${HEX}`, "sha: x"),
      /artifacts\[0\]\.sha: unknown key/,
    ],
    [
      "not an http URL",
      one("name: a", "url: ftp://x/a", `sha256: ${HEX}`),
      /artifacts\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/,
    ],
    [
      "a bad sha256_url",
      one("name: a", "url: http://x/a", "sha256_url: file:///etc/a.sha256"),
      /artifacts\[0\]\.sha256_url: expected an http/,
    ],
    [
      "invalid name",
      one("name: ../etc", "url: http://x/a", `sha256: ${HEX}`),
      /artifacts\[0\]\.name: not a valid artifact name/,
    ],
    [
      "reserved name",
      one("name: index.json", "url: http://x/a", `sha256: ${HEX}`),
      /artifacts\[0\]\.name: not a valid/,
    ],
    [
      "description not a string",
      one("name: a", "url: http://x/a", `sha256: ${HEX}`, "description: [1]"),
      /artifacts\[0\]\.description: expected a string/,
    ],
    [
      "duplicate name",
      `${one("name: a", "url: http://x/a", `sha256: ${HEX}`)}  - name: b\n    url: http://x/b\n    sha256: ${HEX}\n  - name: a\n    url: http://x/a2\n    sha256: ${HEX}\n`,
      /artifacts\[2\]\.name: duplicate name "a" \(also artifacts\[0\]\)/,
    ],
    ["not YAML", "artifacts: [\n  - name: a\n", /kubernetes\.artifacts\.yaml: not valid YAML: .*line/],
    ["not a mapping (a list)", "- name: a\n", /kubernetes\.artifacts\.yaml: expected a mapping/],
    ["not a mapping (a scalar)", "just text\n", /kubernetes\.artifacts\.yaml: expected a mapping/],
    ["empty", "# nothing\n", /kubernetes\.artifacts\.yaml: the file is empty/],
    ["artifacts not a list", "artifacts: {name: a}\n", /: artifacts: expected a list/],
    ["no artifacts", "artifacts: []\n", /: artifacts: list at least one artifact/],
    [
      "unknown top-level key",
      `${one("name: a", "url: http://x/a", `sha256: ${HEX}`)}extra: 1\n`,
      /: extra: unknown key/,
    ],
    ["an entry that is not a mapping", "artifacts:\n  - just-a-name\n", /artifacts\[0\]: expected a mapping/],
  ])("%s is a usage error naming the field", (_what, text, message) => {
    const run = parse(text);
    expect(run).toThrow(UsageError);
    expect(run).toThrow(new RegExp(`^${FILE.replace(/\./g, "\\.")}: `));
    expect(run).toThrow(message);
  });

  it("lists every problem, the first on the headline", () => {
    expect(
      parse(
        `artifacts:\n  - name: a\n    url: ftp://x\n  - url: http://x/b\n    sha256: ${HEX}\n    extra: 1\n`,
      ),
    ).toThrow(/: 4 problems\n {2}artifacts\[0\]\.url: expected an http/);
  });

  it("a set with no list file is not found, and the hint names the sets there are", async () => {
    const err = await loadArtifactSet("web", FIXTURES).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toMatch(/no artifact list for web: .*web\.artifacts\.yaml/);
    expect((err as NotFoundError).hint).toMatch(/kubernetes/);
    expect(await listArtifactSets(FIXTURES)).toEqual(["kubernetes"]);
    await expect(loadArtifactSet("web", path.join(FIXTURES, "absent"))).rejects.toThrow(NotFoundError);
  });

  it("refuses a set name that is a path", async () => {
    await expect(loadArtifactSet("../fixtures/artifact-lists/kubernetes", FIXTURES)).rejects.toThrow(
      /invalid artifact set name/,
    );
  });

  // The lead's units/*.artifacts.yaml, once they exist, must parse too.
  it("every units/*.artifacts.yaml parses", async () => {
    for (const set of await listArtifactSets(UNITS)) {
      const list = await loadArtifactSet(set, UNITS);
      expect(list.artifacts.length).toBeGreaterThan(0);
    }
  });
});

describe("published digest files", () => {
  it.each([
    ["sha256sum output", `${HEX}  kube-apiserver\n`],
    ["binary mode", `${HEX} *kube-apiserver\n`],
    ["the bare digest", `${HEX}\n`],
    ["no newline (dl.k8s.io)", HEX],
    ["upper case, CRLF", `${HEX.toUpperCase()}\r\n`],
  ])("takes the first token of %s", (_what, text) => {
    expect(parsePublishedDigest(text, "http://x/a.sha256")).toBe(HEX);
  });

  it.each([
    ["garbage", "<html>Not here</html>\n", /is not a sha256/],
    ["a short digest", "abc123  kube-apiserver\n", /is not a sha256/],
    ["empty", "\n", /is empty/],
    ["several files", `${HEX}  a\n${HEX}  b\n`, /2 lines, expected one/],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parsePublishedDigest(text, "http://x/a.sha256")).toThrow(message);
    expect(() => parsePublishedDigest(text, "http://x/a.sha256")).toThrow(/http:\/\/x\/a\.sha256/);
  });
});

describe("lab mirror add arguments", () => {
  it("NAME or URL together with --for is a usage error", async () => {
    await expect(mirrorAddCommand("a", "http://x/a", { for: "kubernetes" })).rejects.toThrow(UsageError);
    await expect(mirrorAddCommand(undefined, undefined, { for: "kubernetes", sha256: HEX })).rejects.toThrow(
      UsageError,
    );
  });
  it("neither NAME URL nor --for is a usage error", async () => {
    await expect(mirrorAddCommand(undefined, undefined, {})).rejects.toThrow(
      /give NAME and URL, or --for SET/,
    );
    await expect(mirrorAddCommand("a", "http://x/a", {})).rejects.toThrow(/--sha256 is required/);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a loopback HTTP server: the store, no daemon.

const BINARIES: Record<string, Buffer> = {
  "/bin/kube-apiserver": Buffer.from("apiserver pretend binary\n".repeat(500)),
  "/bin/kube-proxy": Buffer.from("proxy pretend binary\n".repeat(500)),
  "/bin/flanneld": Buffer.from("flanneld pretend binary\n".repeat(500)),
};
/** Path → body of the server; tests change it. */
const served = new Map<string, string | Buffer>();
const hits = new Map<string, number>();
let server: http.Server;
let origin: string;
let base: string;
let ctx: LabContext;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const body = served.get(req.url!);
    if (body === undefined) {
      res.statusCode = 404;
      res.end("not found");
    } else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), "lab-artifact-list-"));
  served.clear();
  hits.clear();
  for (const [p, b] of Object.entries(BINARIES)) {
    served.set(p, b);
    served.set(`${p}.sha256`, `${sha(b)}  ${path.basename(p)}\n`);
  }
  ctx = {
    host: createHost(),
    paths: paths({ home: path.join(base, "home"), run: path.join(base, "run") }),
    events: { emit: () => undefined },
  } as unknown as LabContext;
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const addEntry = (e: ArtifactListEntry) =>
  addArtifact(ctx, { name: e.name, url: e.url, sha256: e.sha256, sha256Url: e.sha256Url });

function listText(): string {
  return `# test list
artifacts:
  - name: kube-apiserver
    url: ${origin}/bin/kube-apiserver
    sha256_url: ${origin}/bin/kube-apiserver.sha256
  - name: flanneld
    url: ${origin}/bin/flanneld
    sha256: ${sha(BINARIES["/bin/flanneld"]!)}
  - name: kube-proxy
    url: ${origin}/bin/kube-proxy
    sha256_url: ${origin}/bin/kube-proxy.sha256
`;
}

describe("adding with a published digest", () => {
  it("fetches the digest file, then the file, and keeps it", async () => {
    const r = await addArtifact(ctx, {
      name: "kube-apiserver",
      url: `${origin}/bin/kube-apiserver`,
      sha256Url: `${origin}/bin/kube-apiserver.sha256`,
    });
    expect(r).toMatchObject({ changed: true, entry: { sha256: sha(BINARIES["/bin/kube-apiserver"]!) } });
    expect(await readFile(ctx.paths.mirror.artifact("kube-apiserver"))).toEqual(
      BINARIES["/bin/kube-apiserver"],
    );
  });

  it("accepts a present artifact only when it matches the digest published now", async () => {
    const req = {
      name: "kube-apiserver",
      url: `${origin}/bin/kube-apiserver`,
      sha256Url: `${origin}/bin/kube-apiserver.sha256`,
    };
    await addArtifact(ctx, req);
    expect((await addArtifact(ctx, req)).changed).toBe(false);
    expect(hits.get("/bin/kube-apiserver")).toBe(1);
    expect(hits.get("/bin/kube-apiserver.sha256")).toBe(2);
    served.set("/bin/kube-apiserver.sha256", `${sha("a new release")}  kube-apiserver\n`);
    await expect(addArtifact(ctx, req)).rejects.toThrow(ConflictError);
    expect(hits.get("/bin/kube-apiserver")).toBe(1);
  });

  it("keeps nothing when the file does not match the published digest", async () => {
    served.set("/bin/kube-apiserver.sha256", `${sha("something else")}\n`);
    await expect(
      addArtifact(ctx, {
        name: "kube-apiserver",
        url: `${origin}/bin/kube-apiserver`,
        sha256Url: `${origin}/bin/kube-apiserver.sha256`,
      }),
    ).rejects.toThrow(/not the expected/);
    expect(await readMirrorIndex(ctx.paths.mirror.index)).toEqual([]);
    expect((await readdir(ctx.paths.mirrorDir).catch(() => [])).filter((f) => f !== "index.json")).toEqual(
      [],
    );
  });

  it("downloads nothing when the digest file is missing, garbage or huge", async () => {
    const req = { name: "x", url: `${origin}/bin/kube-apiserver`, sha256Url: `${origin}/absent.sha256` };
    await expect(addArtifact(ctx, req)).rejects.toThrow(NotFoundError);
    served.set("/garbage.sha256", "<html>hello</html>");
    await expect(addArtifact(ctx, { ...req, sha256Url: `${origin}/garbage.sha256` })).rejects.toThrow(
      /is not a sha256/,
    );
    served.set("/huge.sha256", Buffer.alloc(1024 * 1024, 0x61));
    await expect(addArtifact(ctx, { ...req, sha256Url: `${origin}/huge.sha256` })).rejects.toThrow(
      /larger than/,
    );
    expect(hits.get("/bin/kube-apiserver")).toBeUndefined();
  });

  it("wants exactly one of sha256 and sha256Url", async () => {
    const req = { name: "x", url: `${origin}/bin/kube-apiserver` };
    await expect(addArtifact(ctx, req)).rejects.toThrow(/exactly one of sha256, sha256Url or trustFirstUse/);
    await expect(
      addArtifact(ctx, { ...req, sha256: HEX, sha256Url: `${origin}/bin/kube-apiserver.sha256` }),
    ).rejects.toThrow(/exactly one/);
    expect(hits.size).toBe(0);
  });
});

describe("adding a whole list", () => {
  it("adds each artifact once, and reports present ones the second time", async () => {
    const list = parseArtifactList(listText(), FILE);
    const first = await addArtifactList(list, addEntry);
    expect(first).toEqual([
      {
        name: "kube-apiserver",
        url: `${origin}/bin/kube-apiserver`,
        sha256: sha(BINARIES["/bin/kube-apiserver"]!),
        status: "added",
      },
      {
        name: "flanneld",
        url: `${origin}/bin/flanneld`,
        sha256: sha(BINARIES["/bin/flanneld"]!),
        status: "added",
      },
      {
        name: "kube-proxy",
        url: `${origin}/bin/kube-proxy`,
        sha256: sha(BINARIES["/bin/kube-proxy"]!),
        status: "added",
      },
    ]);
    const second = await addArtifactList(list, addEntry);
    expect(second.map((r) => r.status)).toEqual(["present", "present", "present"]);
    for (const p of Object.keys(BINARIES)) expect(hits.get(p)).toBe(1);
  });

  it("stops at the first failure, naming it; those before it stay", async () => {
    served.delete("/bin/flanneld");
    const list = parseArtifactList(listText(), FILE);
    const err = await addArtifactList(list, addEntry).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(
      /^units\/kubernetes\.artifacts\.yaml: artifact flanneld \(2 of 3\): /,
    );
    expect((err as NotFoundError).details).toMatchObject({
      artifact: "flanneld",
      done: [{ name: "kube-apiserver", status: "added" }],
    });
    expect((await readMirrorIndex(ctx.paths.mirror.index)).map((e) => e.name)).toEqual(["kube-apiserver"]);
    expect(hits.get("/bin/kube-proxy")).toBeUndefined();
    expect((err as NotFoundError).hint).toMatch(/artifact's URL/);
  });

  it("names the artifact whose present copy conflicts with the list", async () => {
    const list = parseArtifactList(listText(), FILE);
    await addArtifactList(list, addEntry);
    served.set("/bin/kube-proxy.sha256", `${sha("newer")}\n`);
    await expect(addArtifactList(list, addEntry)).rejects.toThrow(
      /artifact kube-proxy \(3 of 3\): the mirror already has kube-proxy with another sha256/,
    );
  });

  it("reads a list from a units directory", async () => {
    const dir = path.join(base, "units");
    await mkdir(dir);
    await writeFile(path.join(dir, "web.artifacts.yaml"), listText());
    const list = await loadArtifactSet("web", dir);
    expect((await addArtifactList(list, addEntry)).map((r) => r.status)).toEqual(["added", "added", "added"]);
  });
});

describe("release archives and digests lists (units/fleet.artifacts.yaml)", () => {
  const ETCD = Buffer.from("#!/bin/sh\necho etcd stand-in\n");
  /** A .tar.gz laid out as etcd-io/etcd's release archives: DIR/etcd, DIR/etcdctl. */
  async function tarball(): Promise<Buffer> {
    const dir = path.join(base, "rel");
    await mkdir(path.join(dir, "etcd-v3.5.16-linux-amd64"), { recursive: true });
    await writeFile(path.join(dir, "etcd-v3.5.16-linux-amd64/etcd"), ETCD);
    await writeFile(path.join(dir, "etcd-v3.5.16-linux-amd64/etcdctl"), "ctl");
    const out = path.join(base, "rel.tgz");
    await createHost().run(["tar", "-czf", out, "-C", dir, "etcd-v3.5.16-linux-amd64"]);
    return readFile(out);
  }
  const url = () => `${origin}/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz`;

  it("picks the archive's line of a SHA256SUMS file, and refuses one that does not list it once", () => {
    const sums = `${"1".repeat(64)}  etcd-v3.5.16-darwin-amd64.zip\n${HEX}  etcd-v3.5.16-linux-amd64.tar.gz\n`;
    expect(parsePublishedDigest(sums, "http://x/SHA256SUMS", "etcd-v3.5.16-linux-amd64.tar.gz")).toBe(HEX);
    expect(() => parsePublishedDigest(sums, "http://x/SHA256SUMS", "other.tar.gz")).toThrow(
      /other\.tar\.gz 0 times/,
    );
  });

  it("downloads the archive once, checks it against SHA256SUMS and serves the member", async () => {
    const tgz = await tarball();
    served.set("/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz", tgz);
    served.set(
      "/v3.5.16/SHA256SUMS",
      `${sha("other")}  etcd-v3.5.16-linux-arm64.tar.gz\n${sha(tgz)}  etcd-v3.5.16-linux-amd64.tar.gz\n`,
    );
    const req = {
      name: "etcd",
      url: url(),
      sha256Url: `${origin}/v3.5.16/SHA256SUMS`,
      member: "etcd-v3.5.16-linux-amd64/etcd",
    };
    const r = await addArtifact(ctx, req);
    expect(r.changed).toBe(true);
    expect(r.entry).toMatchObject({ sha256: sha(ETCD), download: { sha256: sha(tgz), trust: "published" } });
    expect(await readFile(ctx.paths.mirror.artifact("etcd"))).toEqual(ETCD);
    // Again: nothing downloaded (only the digest list is read again).
    expect((await addArtifact(ctx, req)).changed).toBe(false);
    expect(hits.get("/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz")).toBe(1);
  });

  it("refuses an archive that does not match, and a member that is not in it, keeping nothing", async () => {
    const tgz = await tarball();
    served.set("/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz", tgz);
    await expect(
      addArtifact(ctx, { name: "etcd", url: url(), sha256: HEX, member: "etcd-v3.5.16-linux-amd64/etcd" }),
    ).rejects.toThrow(/not the expected/);
    await expect(
      addArtifact(ctx, {
        name: "etcd",
        url: url(),
        sha256: sha(tgz),
        member: "etcd-v3.5.16-linux-amd64/nope",
      }),
    ).rejects.toThrow();
    await expect(
      addArtifact(ctx, { name: "etcd", url: url(), sha256: sha(tgz), member: "../etc/passwd" }),
    ).rejects.toThrow(/invalid archive member/);
    expect(await readMirrorIndex(ctx.paths.mirror.index)).toEqual([]);
  });

  it("trusts a digest-less release on first use: computes, reports and records the download's digest", async () => {
    const tgz = await tarball();
    served.set("/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz", tgz);
    const said: string[] = [];
    const c = { ...ctx, progress: (m: string) => said.push(m) } as LabContext;
    const r = await addArtifact(c, {
      name: "etcd",
      url: url(),
      trustFirstUse: true,
      member: "etcd-v3.5.16-linux-amd64/etcd",
    });
    expect(r.entry.download).toEqual({ sha256: sha(tgz), trust: "first-use" });
    expect(said.join("\n")).toMatch(new RegExp(`trust on first use: .* has sha256 ${sha(tgz)}`));
  });

  it("the repository's fleet list names upstream releases with a published or first-use digest", async () => {
    const list = await loadArtifactSet("fleet", UNITS);
    expect(
      list.artifacts.map((a) => [
        a.name,
        a.member,
        a.sha256Url ?? (a.trustFirstUse ? "first-use" : a.sha256),
      ]),
    ).toEqual([
      [
        "etcd",
        "etcd-v3.5.16-linux-amd64/etcd",
        "https://github.com/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS",
      ],
      ["fleetd", "fleet-v1.0.0-linux-amd64/fleetd", "first-use"],
    ]);
  });
});
