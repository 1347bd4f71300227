import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BundleManifestSchema,
  ImageManifestSchema,
  isSafeFileName,
  manifestFiles,
  parseManifest,
  parseManifestText,
} from "../../src/image/manifest.js";
import { backingPath, checkBaseDisk, parseQemuImgInfo, qemuImgInfoArgv } from "../../src/image/qemu-img.js";

// The shape scripts/build-test-image.mjs writes into .cache/images/lab-test/manifest.json.
const labTest = {
  name: "lab-test",
  version: "5fd25b28d2d708d7",
  format: "qcow2",
  disk: "disk.qcow2",
  boot: { kernel: "vmlinuz", initrd: "initrd.img", cmdline: "console=ttyS0 panic=-1 quiet" },
  fleet: false,
  guest: "lab-test",
  features: { configDrive: ["iso9660", "vfat", "9p"] },
  kernelVersion: "6.1.0-56-amd64",
  createdAt: "2026-11-22T05:24:17.647Z",
};

describe("image manifests", () => {
  it("accepts the lab-test bundle manifest, and a stored one needs importedAt", () => {
    const b = parseManifest(BundleManifestSchema, labTest, "bundle");
    expect(manifestFiles(b)).toEqual(["disk.qcow2", "vmlinuz", "initrd.img"]);
    expect(() => parseManifest(ImageManifestSchema, labTest, "m")).toThrow(/importedAt/);
    const stored = {
      ...labTest,
      importedAt: "2026-01-01T00:00:00Z",
      source: { kind: "import", sha256: "a".repeat(64) },
    };
    expect(parseManifest(ImageManifestSchema, stored, "m").boot?.kernel).toBe("vmlinuz");
  });

  it("matches what the build script writes, when it has been built", () => {
    const file = path.resolve(__dirname, "../../.cache/images/lab-test/manifest.json");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return; // not built on this machine; the literal above has the same shape
    }
    expect(parseManifestText(BundleManifestSchema, text, file).disk).toBeTruthy();
  });

  it("names the first bad field", () => {
    expect(() =>
      parseManifest(BundleManifestSchema, { ...labTest, format: "vmdk" }, "x/manifest.json"),
    ).toThrow(/invalid image manifest x\/manifest.json: format/);
    expect(() => parseManifest(BundleManifestSchema, { ...labTest, fleet: "yes" }, "m")).toThrow(/fleet/);
    expect(() => parseManifestText(BundleManifestSchema, "{nope", "m")).toThrow(/not JSON/);
    expect(parseManifest(BundleManifestSchema, { name: "x", format: "raw", disk: "d.img" }, "m").fleet).toBe(
      false,
    );
  });

  it("accepts only plain file names in bundles", () => {
    for (const ok of ["disk.qcow2", "vmlinuz", "initrd.img", "vmlinuz-6.1.0-56-amd64", "a_b+c"]) {
      expect(isSafeFileName(ok), ok).toBe(true);
    }
    for (const bad of [
      "../disk.qcow2",
      "/etc/shadow",
      "sub/disk",
      "..",
      ".",
      ".hidden",
      "a..b",
      "",
      "manifest.json",
      "a\0b",
      "dísk",
    ]) {
      expect(isSafeFileName(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(() => parseManifest(BundleManifestSchema, { ...labTest, disk: "../../etc/shadow" }, "m")).toThrow(
      /disk/,
    );
    const evilBoot = { ...labTest, boot: { ...labTest.boot, initrd: "/boot/initrd.img" } };
    expect(() => parseManifest(BundleManifestSchema, evilBoot, "m")).toThrow(/boot\.initrd/);
  });
});

describe("qemu-img info", () => {
  // qemu-img 7.2 (Debian 12) output for an overlay and a plain raw file.
  const overlay = JSON.stringify({
    "virtual-size": 1073741824,
    filename: "/var/lib/lab/vms/n1/disk.qcow2",
    format: "qcow2",
    "backing-filename": "/var/lib/lab/images/lab-test/disk.qcow2",
    "full-backing-filename": "/var/lib/lab/images/lab-test/disk.qcow2",
    "backing-filename-format": "qcow2",
  });
  const raw = JSON.stringify({
    "virtual-size": 1048576,
    filename: "d.img",
    format: "raw",
    "actual-size": 4096,
  });

  it("builds argv and parses the fields lab needs", () => {
    expect(qemuImgInfoArgv("d.img")).toEqual(["qemu-img", "info", "--output=json", "d.img"]);
    expect(qemuImgInfoArgv("d.img", { forceShare: true })).toEqual([
      "qemu-img",
      "info",
      "-U",
      "--output=json",
      "d.img",
    ]);
    expect(parseQemuImgInfo(raw)).toEqual({ format: "raw", virtualSize: 1048576 });
    expect(backingPath("/var/lib/lab/vms/n1/disk.qcow2", parseQemuImgInfo(overlay))).toBe(
      "/var/lib/lab/images/lab-test/disk.qcow2",
    );
    const relative = { format: "qcow2", virtualSize: 1, backingFilename: "../../images/x/disk.qcow2" };
    expect(backingPath("/l/vms/n1/disk.qcow2", relative)).toBe("/l/images/x/disk.qcow2");
  });

  it("takes self-contained qcow2 and raw only", () => {
    expect(checkBaseDisk(parseQemuImgInfo(raw), "d.img")).toBe("raw");
    expect(() => checkBaseDisk(parseQemuImgInfo(overlay), "o.qcow2")).toThrow(/overlay on .*lab-test/);
    expect(() => checkBaseDisk({ format: "vmdk", virtualSize: 1 }, "x.vmdk")).toThrow(
      /vmdk image; lab takes qcow2 or raw/,
    );
  });
});
