// What a disk file is, read from its first bytes before any qemu tool opens it: qemu follows a
// qcow2's backing file and external data file (any host path, or a json: description of any
// block driver) when it opens the image, so those are refused from the header alone. A raw file
// must look like a disk (see RAW_SIGNATURES), so `lab image import /etc/shadow` is no image.
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { UsageError } from "../errors.js";

/** Enough for the qcow2 header and its extensions, and the raw signatures below. */
export const HEADER_BYTES = 64 * 1024;
const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const QCOW2_INCOMPAT_DATA_FILE = 1n << 2n;
const QCOW2_EXT_DATA_FILE = 0x44415441; // "DATA": the external data file's name
const SECTOR = 512;

/**
 * A raw disk is taken only when it carries a partition table or a file system a guest boots from:
 * an MBR (also every FAT boot sector), a GPT, ext2/3/4, XFS, btrfs, squashfs or ISO 9660. Its size
 * must be whole sectors. Anything else (a text file, a key, random bytes) is refused.
 */
const RAW_SIGNATURES: ReadonlyArray<[string, number, Buffer]> = [
  ["MBR", 510, Buffer.from([0x55, 0xaa])],
  ["GPT", 512, Buffer.from("EFI PART")],
  ["ext2/3/4", 1080, Buffer.from([0x53, 0xef])],
  ["XFS", 0, Buffer.from("XFSB")],
  ["squashfs", 0, Buffer.from("hsqs")],
  ["btrfs", 0x10040, Buffer.from("_BHRfS_M")],
  ["ISO 9660", 0x8001, Buffer.from("CD001")],
];

/** Magic numbers of the other formats qemu would probe; named so the refusal can say what it is. */
const OTHER_FORMATS: ReadonlyArray<[string, Buffer]> = [
  ["vmdk", Buffer.from("KDMV")],
  ["vmdk descriptor", Buffer.from("# Disk DescriptorFile")],
  ["vdi", Buffer.from("<<< ")],
  ["vhdx", Buffer.from("vhdxfile")],
  ["qed", Buffer.from("QED\0")],
  ["vpc", Buffer.from("conectix")],
  ["luks", Buffer.from("LUKS\xba\xbe", "latin1")],
];

export type DiskHeader =
  | { format: "qcow2"; version: number; backingFile?: string; dataFile: boolean }
  | { format: "raw"; signature: string };

function qcow2(head: Buffer, what: string): DiskHeader {
  if (head.length < 72) throw new UsageError(`${what} is a truncated qcow2 image`);
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3)
    throw new UsageError(`${what} is qcow2 version ${version}; lab takes 2 or 3`);
  const backingOffset = Number(head.readBigUInt64BE(8));
  const backingSize = head.readUInt32BE(16);
  let backingFile: string | undefined;
  if (backingOffset !== 0) {
    if (backingOffset + backingSize > head.length)
      throw new UsageError(`${what}: its backing file name lies outside the first ${HEADER_BYTES} bytes`);
    backingFile = head.subarray(backingOffset, backingOffset + backingSize).toString("utf8");
  }
  let dataFile = false;
  let extStart = 72;
  if (version === 3) {
    if (head.length < 104) throw new UsageError(`${what} is a truncated qcow2 image`);
    dataFile = (head.readBigUInt64BE(72) & QCOW2_INCOMPAT_DATA_FILE) !== 0n;
    extStart = head.readUInt32BE(100);
  }
  // Header extensions: type, length, data padded to 8 bytes; type 0 ends them.
  for (let at = extStart; at + 8 <= head.length; ) {
    const type = head.readUInt32BE(at);
    const len = head.readUInt32BE(at + 4);
    if (type === 0) break;
    if (type === QCOW2_EXT_DATA_FILE) dataFile = true;
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return { format: "qcow2", version, backingFile, dataFile };
}

/** Pure: the header of a disk file of `size` bytes, or a UsageError saying why it is no lab disk. */
export function inspectDiskHeader(head: Buffer, size: number, what: string): DiskHeader {
  if (head.length >= 4 && head.readUInt32BE(0) === QCOW2_MAGIC) return qcow2(head, what);
  const other = OTHER_FORMATS.find(([, magic]) => head.subarray(0, magic.length).equals(magic));
  if (other)
    throw new UsageError(`${what} is a ${other[0]} image; lab takes qcow2 or raw`, {
      hint: `convert it first: qemu-img convert -O qcow2 ${what} disk.qcow2`,
    });
  const sig = RAW_SIGNATURES.find(([, at, magic]) => head.subarray(at, at + magic.length).equals(magic));
  if (size === 0 || size % SECTOR !== 0 || !sig)
    throw new UsageError(`${what} is not a disk image: not qcow2, and not a raw disk`, {
      hint: `a raw disk is whole ${SECTOR}-byte sectors with a partition table (MBR/GPT) or a file system (ext4, XFS, btrfs, squashfs, ISO 9660); give qcow2 otherwise`,
    });
  return { format: "raw", signature: sig[0] };
}

/** Refuses a qcow2 that reads anything outside itself; `allowedBacking` is the only backing file taken. */
export function checkSelfContained(h: DiskHeader, what: string, allowedBacking?: string): void {
  if (h.format !== "qcow2") return;
  if (h.dataFile)
    throw new UsageError(`${what} keeps its data in an external data file; lab takes self-contained images`, {
      hint: `copy it into one file first: qemu-img convert -O qcow2 ${what} flat.qcow2`,
    });
  if (h.backingFile !== undefined && h.backingFile !== allowedBacking)
    throw new UsageError(
      allowedBacking === undefined
        ? `${what} is a qcow2 overlay on ${h.backingFile}; lab takes self-contained images`
        : `${what} is backed by ${h.backingFile}, not by its image ${allowedBacking}`,
      { hint: `flatten it first: qemu-img convert -O qcow2 ${what} flat.qcow2` },
    );
}

/** Reads a disk file's header without following a symlink; the file is opened once. */
export async function readDiskHeader(file: string): Promise<DiskHeader> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
    (err: NodeJS.ErrnoException) => {
      throw new UsageError(
        `cannot open ${file}: ${err.code === "ELOOP" ? "it is a symbolic link" : err.message}`,
      );
    },
  );
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UsageError(`${file} is not a regular file`);
    const head = Buffer.alloc(Math.min(HEADER_BYTES, st.size));
    await fh.read(head, 0, head.length, 0);
    return inspectDiskHeader(head, st.size, file);
  } finally {
    await fh.close();
  }
}

/**
 * Run before every boot: the base image must still be self-contained and the VM's overlay a qcow2
 * backed by exactly that base, with no data file (files on disk can change after import).
 */
export async function checkBootDisks(base: string, overlay: string): Promise<void> {
  checkSelfContained(await readDiskHeader(base), base);
  const h = await readDiskHeader(overlay);
  if (h.format !== "qcow2") throw new UsageError(`${overlay} is not a qcow2 overlay`);
  checkSelfContained(h, overlay, base);
}
