import { describe, expect, it } from "vitest";
import { type MirrorEntry, parseMirrorIndex, renderMirrorIndex } from "../../src/mirror/index-file.js";
import { digestLine, listing, lookupMirrorPath } from "../../src/mirror/lookup.js";
import { isArtifactName, validateArtifactName, validateSha256 } from "../../src/mirror/names.js";
import { DEFAULT_MIRROR_PORT, mirrorPort } from "../../src/mirror/port.js";

const SHA = "2546f04f448d3f58fe642cad2519a9695686de052937e0ce7b83845f7de1f351";
const entry = (name: string, sha256 = SHA): MirrorEntry => ({
  name,
  sha256,
  size: 3,
  source: "import",
  addedAt: "2026-11-22T00:00:00.000Z",
});

describe("artifact names", () => {
  it("accepts safe file names", () => {
    for (const n of ["fleetd", "etcd-v3.4.23.tar.gz", "kube_apiserver", "A1", "x.sha256"])
      expect(validateArtifactName(n)).toBe(n);
  });

  it("refuses anything that is not one plain file name", () => {
    const bad = [
      "",
      ".hidden",
      "..",
      "../lab.json",
      "a/b",
      "a\\b",
      "a b",
      "%2e%2e",
      "index.json",
      "a..b",
      "é",
      "x".repeat(129),
    ];
    for (const n of bad) {
      expect(isArtifactName(n), n).toBe(false);
      expect(() => validateArtifactName(n)).toThrow(/invalid mirror artifact name/);
    }
  });

  it("normalises a digest and refuses a bad one", () => {
    expect(validateSha256(`sha256:${SHA.toUpperCase()}`)).toBe(SHA);
    for (const d of ["", "abc", `${SHA}0`, `${SHA.slice(1)}g`, `${SHA} x`])
      expect(() => validateSha256(d)).toThrow();
  });
});

describe("mirror index", () => {
  it("round-trips, sorted by name", () => {
    const text = renderMirrorIndex([entry("b"), entry("a")]);
    expect(parseMirrorIndex(text).entries.map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("is empty when absent", () => {
    expect(parseMirrorIndex(undefined)).toEqual({ entries: [], rejected: 0 });
  });

  it("drops entries that would be unsafe to serve, and duplicates", () => {
    const text = JSON.stringify({
      version: 1,
      artifacts: [entry("ok"), entry("../lab.json"), entry("x", "nothex"), { name: "y" }, entry("ok")],
    });
    expect(parseMirrorIndex(text)).toEqual({ entries: [entry("ok")], rejected: 4 });
  });

  it("refuses to guess at a broken file", () => {
    expect(() => parseMirrorIndex("{", "/m/index.json")).toThrow(
      /mirror index \/m\/index.json is unreadable/,
    );
    expect(() => parseMirrorIndex('{"version":2,"artifacts":[]}')).toThrow(/unreadable/);
  });
});

describe("mirror URL lookup", () => {
  const entries = [entry("fleetd"), entry("hello"), entry("odd.sha256")];

  it("serves the listing, files and their digests", () => {
    expect(lookupMirrorPath(entries, "GET", "/")).toEqual({ kind: "list" });
    expect(lookupMirrorPath(entries, "GET", "/fleetd")).toEqual({ kind: "file", entry: entries[0] });
    expect(lookupMirrorPath(entries, "HEAD", "/hello?x=1")).toEqual({ kind: "file", entry: entries[1] });
    expect(lookupMirrorPath(entries, "GET", "/fleetd.sha256")).toEqual({ kind: "digest", entry: entries[0] });
    // An artifact named like a digest file is that artifact.
    expect(lookupMirrorPath(entries, "GET", "/odd.sha256")).toEqual({ kind: "file", entry: entries[2] });
    expect(digestLine(entries[0]!)).toBe(`${SHA}  fleetd\n`);
    expect(listing(entries)[0]).toEqual({ name: "fleetd", sha256: SHA, size: 3 });
  });

  it("answers 404 to every path that is not an index name", () => {
    const paths = [
      "/../lab.json",
      "/%2e%2e/lab.json",
      "/%2e%2e%2flab.json",
      "/..%2flab.json",
      "/mirror/fleetd",
      "/fleetd/",
      "//fleetd",
      "/./fleetd",
      "/index.json",
      "/.tmp-1-ab-fleetd",
      "/nothere",
      "/nothere.sha256",
      "/../lab.json.sha256",
      "/%66leetd",
      "http://172.16.11.1/fleetd",
      "fleetd",
      "",
    ];
    for (const p of paths) expect(lookupMirrorPath(entries, "GET", p), p).toEqual({ kind: "not_found" });
  });

  it("allows GET and HEAD only", () => {
    for (const m of ["POST", "PUT", "DELETE", "OPTIONS", undefined])
      expect(lookupMirrorPath(entries, m, "/fleetd")).toEqual({ kind: "method_not_allowed" });
  });
});

describe("mirror port", () => {
  it("defaults, and reads LAB_MIRROR_PORT strictly", () => {
    expect(mirrorPort({})).toBe(DEFAULT_MIRROR_PORT);
    expect(mirrorPort({ LAB_MIRROR_PORT: "18080" })).toBe(18080);
    for (const v of ["0", "65536", "80a", "-1", " 80"])
      expect(() => mirrorPort({ LAB_MIRROR_PORT: v })).toThrow();
  });
});
