// Image routes: the Image object of the store, the catalog entry, and what pull and import answer.
import { z } from "zod";
import { ImageManifestSchema } from "../image/manifest.js";
import { imagePaths } from "./paths.js";
import { withSchemas } from "./route.js";
import { nullable } from "./shape.js";

export const Image = z
  .object({
    name: z.string(),
    version: nullable(z.string()),
    format: z.enum(["qcow2", "raw"]),
    sizeBytes: z.number(),
    guest: nullable(z.string()),
    fleet: z.boolean(),
    cloudinit: nullable(z.string()),
    boot: z.enum(["direct", "disk"]),
    usedBy: z.array(z.string()),
    source: nullable(
      z.object({
        kind: z.enum(["pull", "import"]),
        channel: nullable(z.string()),
        url: nullable(z.string()),
      }),
    ),
    importedAt: nullable(z.string()),
    dir: z.string(),
    /** Why the directory is not a usable image; null when it is. */
    problems: nullable(z.array(z.string())),
  })
  .meta({ id: "Image", description: "An image in the store." });
export type Image = z.output<typeof Image>;

export const CatalogEntry = z
  .object({
    name: z.string(),
    description: z.string(),
    channel: z.string(),
    baseUrl: z.string(),
    file: z.string(),
    compression: z.enum(["bz2", "none"]),
    digests: z.string(),
    format: z.enum(["qcow2", "raw"]),
    guest: z.string(),
    fleet: z.boolean(),
    configDrive: z.array(z.string()),
    /** The version in the store when this entry has been pulled. */
    installed: nullable(z.string()),
  })
  .meta({ id: "CatalogEntry", description: "An image lab knows how to pull." });
export type CatalogEntry = z.output<typeof CatalogEntry>;

export const ImageChange = z
  .object({
    name: z.string(),
    dir: z.string(),
    diskPath: z.string(),
    sizeBytes: z.number(),
    manifest: ImageManifestSchema,
    /** false when that version (or that disk) was already in the store. */
    changed: z.boolean(),
  })
  .meta({ id: "ImageChange", description: "What a pull or an import answers." });

export const ImagePullRequest = z.strictObject({
  baseUrl: z.string().optional(),
  version: z.string().optional(),
});
export const ImageUploadFields = z.strictObject({
  name: z.string().optional(),
  origin: z.string().optional(),
});

export const imageRoutes = withSchemas(imagePaths, {
  list: { answer: z.array(Image) },
  catalog: { answer: z.array(CatalogEntry) },
  get: { answer: Image },
  pull: { body: ImagePullRequest, answer: ImageChange },
  upload: { body: ImageUploadFields, answer: ImageChange },
  remove: { answer: z.object({ name: z.string(), removed: z.boolean() }) },
});
