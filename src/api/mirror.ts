// Mirror routes: the artifact entry (as the index holds it, with what labd observes) and the
// requests that add one by URL or by upload.
import { z } from "zod";
import { mirrorPaths } from "./paths.js";
import { withSchemas } from "./route.js";
import { nullable } from "./shape.js";

export const Artifact = z
  .object({
    name: z.string(),
    sha256: z.string(),
    size: z.number(),
    /** The URL it was downloaded from (with #MEMBER when taken out of an archive), or "import". */
    source: z.string(),
    /** The downloaded file when it was an archive or trusted on first use: its digest and why trusted. */
    download: nullable(z.object({ sha256: z.string(), trust: z.enum(["pinned", "published", "first-use"]) })),
    addedAt: z.string(),
    /** Set when the file is missing or its size differs from the index; null when it is sound. */
    problem: nullable(z.string()),
  })
  .meta({ id: "Artifact", description: "An artifact the mirror serves to the lab network." });
export type Artifact = z.output<typeof Artifact>;

export const Mirror = z
  .object({
    port: nullable(z.number()),
    listeners: z.array(z.object({ network: z.string(), url: z.string() })),
    artifacts: z.array(Artifact),
  })
  .meta({ id: "Mirror", description: "The mirror: where it listens and what it holds." });

/** The entry as written to the index (no observed problem). */
export const ArtifactChange = z.object({
  entry: Artifact.omit({ problem: true }),
  /** false when the artifact was already there with that digest. */
  changed: z.boolean(),
});

export const ArtifactAddRequest = z.strictObject({
  name: z.string(),
  url: z.string(),
  /** Exactly one of sha256, sha256Url and trustFirstUse. */
  sha256: z.string().optional(),
  sha256Url: z.string().optional(),
  trustFirstUse: z.boolean().optional(),
  /** Take this member out of the downloaded .tar.gz. */
  member: z.string().optional(),
  path: z
    .undefined({
      error: "labd does not open files by path for a client: 'lab mirror import NAME FILE' sends it",
    })
    .optional()
    .meta({ description: "refused: labd never opens a path a client names" }),
});
export type ArtifactAddRequest = z.infer<typeof ArtifactAddRequest>;

export const MirrorUploadFields = z.strictObject({
  name: z.string(),
  origin: z.string().optional(),
  sha256: z.string().optional(),
});

export const mirrorRoutes = withSchemas(mirrorPaths, {
  status: { answer: Mirror },
  add: { body: ArtifactAddRequest, answer: ArtifactChange },
  upload: { body: MirrorUploadFields, answer: ArtifactChange },
  remove: { answer: z.object({ name: z.string(), removed: z.boolean() }) },
});
