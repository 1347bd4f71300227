// The image manifest (manifest.json in every image directory and in import bundles): its schema,
// and the rule that every file it names is a plain file name inside the image directory.
import { z } from "zod";
import { UsageError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";

export const MANIFEST_FILE = "manifest.json";

export interface ImageManifest {
  name: string;
  version?: string;
  /** Format of the disk file. */
  format: "qcow2" | "raw";
  /** File name inside the image directory. */
  disk: string;
  /** Direct kernel boot; absent means the guest boots from its disk (like Flatcar). */
  boot?: { kernel: string; initrd?: string; cmdline: string };
  /** Whether fleet is built into the image. */
  fleet: boolean;
  /** e.g. "lab-test", "flatcar". */
  guest?: string;
  /** e.g. configDrive: ["iso9660", "vfat", "9p"]. */
  features?: { configDrive?: string[] };
  source?: {
    kind: "pull" | "import";
    url?: string;
    sha512?: string;
    sha256?: string;
    channel?: string;
  };
  kernelVersion?: string;
  /** Which coreos-cloudinit build a lab-fleet image carries ("flatcar" or "coreos"). */
  cloudinit?: string;
  /** Versions of the components a built image contains, for `lab image list --json`. */
  components?: Record<string, string>;
  createdAt?: string;
  importedAt: string;
}

/**
 * A manifest may come from a bundle someone else built, and its file names become paths: only
 * plain names are accepted, never `/`, `..`, a leading dot or the manifest itself.
 */
export function isSafeFileName(name: string): boolean {
  return (
    typeof name === "string" &&
    /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}$/.test(name) &&
    !name.includes("..") &&
    name !== MANIFEST_FILE
  );
}

const FileName = z.string().refine(isSafeFileName, {
  message: "must be a plain file name (letters, digits, '.', '_', '+', '-'; no '/' or '..')",
});

const Boot = z.object({ kernel: FileName, initrd: FileName.optional(), cmdline: z.string() });

const Source = z.object({
  kind: z.enum(["pull", "import"]),
  url: z.string().optional(),
  sha512: z
    .string()
    .regex(/^[0-9a-f]{128}$/)
    .optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  channel: z.string().optional(),
});

const manifestShape = {
  name: z.string().min(1),
  version: z.string().min(1).optional(),
  format: z.enum(["qcow2", "raw"]),
  disk: FileName,
  boot: Boot.optional(),
  fleet: z.boolean(),
  guest: z.string().optional(),
  features: z.object({ configDrive: z.array(z.string()).optional() }).optional(),
  source: Source.optional(),
  kernelVersion: z.string().optional(),
  cloudinit: z.string().optional(),
  components: z.record(z.string(), z.string()).optional(),
  createdAt: z.string().optional(),
  importedAt: z.string(),
};

export const ImageManifestSchema: z.ZodType<ImageManifest> = z.object(manifestShape);

/** What a bundle directory carries: the same, minus what lab stamps at import time. */
export const BundleManifestSchema = z.object({
  ...manifestShape,
  fleet: z.boolean().default(false),
  importedAt: z.string().optional(),
  source: Source.partial().optional(),
});
export type BundleManifest = z.infer<typeof BundleManifestSchema>;

/** Validates parsed JSON; the error names the file and the first offending field. */
export function parseManifest<T>(schema: z.ZodType<T>, data: unknown, where: string): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new UsageError(`invalid image manifest ${where}: ${firstProblemText(parsed.error)}`, {
    hint: "a manifest needs name, format (qcow2|raw), disk and fleet; file names must be plain names",
  });
}

export function parseManifestText<T>(schema: z.ZodType<T>, text: string, where: string): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid image manifest ${where}: not JSON (${(err as Error).message})`);
  }
  return parseManifest(schema, data, where);
}

/** Every file a manifest names, disk first. */
export function manifestFiles(m: Pick<ImageManifest, "disk" | "boot">): string[] {
  return [m.disk, m.boot?.kernel, m.boot?.initrd].filter((f): f is string => typeof f === "string");
}

export function renderManifest(m: ImageManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
