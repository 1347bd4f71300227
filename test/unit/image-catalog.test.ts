import { describe, expect, it } from "vitest";
import { channelBase, findEntry, loadCatalog, releaseUrls } from "../../src/image/catalog.js";

describe("image catalog", async () => {
  const catalog = await loadCatalog();

  it("has the three Flatcar channels, all qcow2 from their own channel server", () => {
    expect(catalog.images.map((e) => e.name)).toEqual(["flatcar-stable", "flatcar-beta", "flatcar-alpha"]);
    for (const e of catalog.images) {
      expect(e).toMatchObject({ format: "qcow2", guest: "flatcar", fleet: false, compression: "bz2" });
      expect(e.name).toBe(`flatcar-${e.channel}`);
    }
  });

  it("builds the URLs of a release", () => {
    const stable = findEntry(catalog, "flatcar-stable");
    expect(releaseUrls(stable, "current")).toEqual({
      base: "https://stable.release.flatcar-linux.net/amd64-usr",
      versionTxt: "https://stable.release.flatcar-linux.net/amd64-usr/current/version.txt",
      image:
        "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_qemu_image.img.bz2",
      digests:
        "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_qemu_image.img.bz2.DIGESTS",
    });
    expect(releaseUrls(findEntry(catalog, "flatcar-beta"), "4152.1.0").image).toBe(
      "https://beta.release.flatcar-linux.net/amd64-usr/4152.1.0/flatcar_production_qemu_image.img.bz2",
    );
  });

  it("takes a base URL override, with or without {channel}", () => {
    const alpha = findEntry(catalog, "flatcar-alpha");
    expect(releaseUrls(alpha, "1.2.3", "http://127.0.0.1:8080/{channel}/amd64-usr/").versionTxt).toBe(
      "http://127.0.0.1:8080/alpha/amd64-usr/1.2.3/version.txt",
    );
    expect(channelBase(alpha, "http://mirror.example/flatcar")).toBe("http://mirror.example/flatcar");
    expect(releaseUrls(alpha, "1.2.3+dev", "http://m").image).toBe(
      "http://m/1.2.3%2Bdev/flatcar_production_qemu_image.img.bz2",
    );
  });

  it("refuses unknown names and non-http base URLs", () => {
    expect(() => findEntry(catalog, "coreos-stable")).toThrow(/no image "coreos-stable" in the catalog/);
    expect(() => channelBase(findEntry(catalog, "flatcar-stable"), "file:///etc")).toThrow(/http or https/);
    expect(() => channelBase(findEntry(catalog, "flatcar-stable"), "not a url")).toThrow(/invalid base URL/);
  });
});
