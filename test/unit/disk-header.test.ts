// A disk file's header is judged before any qemu tool opens it. Fixtures are made by the real
// qemu-img (Debian 12's 7.2), as users' images are.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkBootDisks,
  checkSelfContained,
  inspectDiskHeader,
  readDiskHeader,
} from "../../src/image/disk-header.js";
import { parseQemuImgInfo } from "../../src/image/qemu-img.js";

const dir = mkdtempSync(path.join(tmpdir(), "lab-disk-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const qemuImg = (...args: string[]) => execFileSync("qemu-img", args).toString();
const file = (name: string) => path.join(dir, name);
const inspect = (f: string) => inspectDiskHeader(readFileSync(f).subarray(0, 65536), statSync(f).size, f);

describe("disk headers", () => {
  it("finds a qcow2's external data file and backing file from the header alone", () => {
    writeFileSync(file("secret"), "host secret\n");
    qemuImg("create", "-q", "-f", "qcow2", "-o", `data_file=${file("secret")}`, file("data.qcow2"), "1M");
    const h = inspect(file("data.qcow2"));
    expect(h).toMatchObject({ format: "qcow2", version: 3, dataFile: true });
    expect(() => checkSelfContained(h, "data.qcow2")).toThrow(/external data file/);

    qemuImg("create", "-q", "-f", "qcow2", file("base.qcow2"), "1M");
    qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", file("base.qcow2"), file("over.qcow2"));
    const o = inspect(file("over.qcow2"));
    expect(o).toMatchObject({ format: "qcow2", backingFile: file("base.qcow2"), dataFile: false });
    expect(() => checkSelfContained(o, "over.qcow2")).toThrow(/overlay on/);
    expect(() => checkSelfContained(o, "over.qcow2", file("base.qcow2"))).not.toThrow();
    expect(() => checkSelfContained(o, "over.qcow2", "/other")).toThrow(/not by its image \/other/);
    qemuImg("create", "-q", "-f", "qcow2", "-o", "compat=0.10", file("v2.qcow2"), "1M");
    expect(inspect(file("v2.qcow2"))).toMatchObject({ format: "qcow2", version: 2, dataFile: false });
  });

  it("checks the base and the overlay before a boot", async () => {
    await expect(checkBootDisks(file("base.qcow2"), file("over.qcow2"))).resolves.toBeUndefined();
    await expect(checkBootDisks(file("data.qcow2"), file("over.qcow2"))).rejects.toThrow(
      /external data file/,
    );
    await expect(checkBootDisks(file("base.qcow2"), file("data.qcow2"))).rejects.toThrow(
      /external data file/,
    );
  });

  it("takes a raw file only when it looks like a disk", async () => {
    const mbr = Buffer.alloc(1 << 20);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    writeFileSync(file("mbr.raw"), mbr);
    expect(inspect(file("mbr.raw"))).toEqual({ format: "raw", signature: "MBR" });
    writeFileSync(file("odd.raw"), mbr.subarray(0, 1000));
    expect(() => inspect(file("odd.raw"))).toThrow(/not a disk image/);
    writeFileSync(file("shadow"), "root:*:19000:0:99999:7:::\n");
    expect(() => inspect(file("shadow"))).toThrow(/not a disk image/);
    writeFileSync(file("zeros.raw"), Buffer.alloc(1 << 20));
    expect(() => inspect(file("zeros.raw"))).toThrow(/not a disk image/);
    qemuImg("create", "-q", "-f", "vmdk", file("x.vmdk"), "1M");
    expect(() => inspect(file("x.vmdk"))).toThrow(/vmdk image/);
    execFileSync("ln", ["-s", file("mbr.raw"), file("link.raw")]);
    await expect(readDiskHeader(file("link.raw"))).rejects.toThrow(/symbolic link/);
  });

  it("reads the data file from qemu-img info's format-specific data too", () => {
    const info = parseQemuImgInfo(qemuImg("info", "-f", "qcow2", "--output=json", file("data.qcow2")));
    expect(info.dataFile).toBe(file("secret"));
  });
});
