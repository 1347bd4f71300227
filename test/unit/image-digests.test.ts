import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { findDigest, parseDigests, parseVersionTxt, releaseVersion } from "../../src/image/digests.js";

// In the format of flatcar/scripts `create_digests` (md5sum/sha1sum/sha512sum output under
// "# <ALGO> HASH" headers); the content hashed is "hello flatcar\n".
const FILE = "flatcar_production_qemu_image.img.bz2";
const MD5 = "3592c9259ec4315b82947ece1f711ca9";
const SHA1 = "195acfe4f17568fe1e12e329e3d5dfb6f8c3efe5";
const SHA512 =
  "45c9c071c89b0972ca7103e704319ffe5acc2b0cca08b897e1cc9125f04df4db8d18c7dbc8cf2ef21f926f5efe6cb8ca80df78e29454425ccff77175b6569d21";
const DIGESTS = `# MD5 HASH\n${MD5}  ${FILE}\n# SHA1 HASH\n${SHA1}  ${FILE}\n# SHA512 HASH\n${SHA512}  ${FILE}\n`;

describe("DIGESTS files", () => {
  it("parses Flatcar's MD5/SHA1/SHA512 blocks", () => {
    expect(SHA512).toBe(createHash("sha512").update("hello flatcar\n").digest("hex"));
    expect(parseDigests(DIGESTS)).toEqual([
      { algorithm: "md5", hex: MD5, file: FILE },
      { algorithm: "sha1", hex: SHA1, file: FILE },
      { algorithm: "sha512", hex: SHA512, file: FILE },
    ]);
    expect(findDigest(parseDigests(DIGESTS), FILE, "sha512")).toBe(SHA512);
    expect(findDigest(parseDigests(DIGESTS), `some/dir/${FILE}`, "sha512")).toBe(SHA512);
  });

  it("reads the clearsigned .DIGESTS.asc the same way", () => {
    const asc = [
      "-----BEGIN PGP SIGNED MESSAGE-----",
      "Hash: SHA512",
      "",
      DIGESTS.trimEnd(),
      "-----BEGIN PGP SIGNATURE-----",
      "",
      "iQIzBAEBCgAdFiEE0000000000000000000000000000000000000000000AAAA",
      "=abcd",
      "-----END PGP SIGNATURE-----",
    ].join("\n");
    expect(findDigest(parseDigests(asc), FILE, "sha512")).toBe(SHA512);
    expect(parseDigests(asc)).toHaveLength(3);
  });

  it("finds the right file among several, accepts binary-mode '*' names and CRLF", () => {
    const other = "a".repeat(128);
    const text = `# SHA512 HASH\r\n${other}  flatcar_production_image.bin.bz2\r\n${SHA512} *${FILE}\r\n`;
    expect(findDigest(parseDigests(text), FILE, "sha512")).toBe(SHA512);
    expect(findDigest(parseDigests(text), "flatcar_production_image.bin.bz2", "sha512")).toBe(other);
  });

  it("ignores lines whose length does not fit their algorithm, and guesses it without a header", () => {
    const text = `# SHA512 HASH\n${SHA512.slice(0, 100)}  ${FILE}\n`;
    expect(findDigest(parseDigests(text), FILE, "sha512")).toBeUndefined();
    expect(findDigest(parseDigests(`${SHA512}  ${FILE}\n`), FILE, "sha512")).toBe(SHA512);
    expect(findDigest(parseDigests(DIGESTS), "other.img", "sha512")).toBeUndefined();
    expect(parseDigests("")).toEqual([]);
  });
});

describe("version.txt", () => {
  const text = [
    "FLATCAR_BUILD=3510",
    "FLATCAR_BRANCH=2",
    "FLATCAR_PATCH=6",
    "FLATCAR_VERSION=3510.2.6",
    "FLATCAR_VERSION_ID=3510.2.6",
    'FLATCAR_BUILD_ID="2023-08-07-1626"',
    "FLATCAR_SDK_VERSION=3510.0.0",
  ].join("\n");

  it("reads KEY=VALUE lines and unquotes values", () => {
    expect(parseVersionTxt(text)).toMatchObject({
      FLATCAR_VERSION: "3510.2.6",
      FLATCAR_BUILD_ID: "2023-08-07-1626",
    });
  });

  it("takes FLATCAR_VERSION, else the _ID, else CoreOS-era keys; rejects unsafe values", () => {
    expect(releaseVersion(text)).toBe("3510.2.6");
    expect(releaseVersion("FLATCAR_VERSION_ID=4081.2.0\n")).toBe("4081.2.0");
    expect(releaseVersion("COREOS_VERSION=1576.1.0\n")).toBe("1576.1.0");
    expect(releaseVersion("FLATCAR_VERSION=../../etc\n")).toBeUndefined();
    expect(releaseVersion("<html>not found</html>")).toBeUndefined();
  });
});
