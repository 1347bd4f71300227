// The subset of coreos-cloudinit's cloud-config that lab writes, as a zod schema. Unknown keys are
// errors here because coreos-cloudinit only warns about them and then ignores them.
import { z } from "zod";
import { UsageError } from "../errors.js";
import { firstProblem } from "../field-problems.js";
import { parsePublicKey } from "../ssh/public-key.js";
import { formatPath, isPlainObject, type TreePath } from "./tree.js";

const settings = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

const unit = z.looseObject({
  name: z.string().min(1),
  command: z
    .enum(["start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "reload-or-try-restart"])
    .optional(),
  enable: z.boolean().optional(),
  runtime: z.boolean().optional(),
  mask: z.boolean().optional(),
  content: z.string().optional(),
  drop_ins: z.array(z.looseObject({ name: z.string().min(1), content: z.string() })).optional(),
});

const coreos = z.strictObject({
  etcd2: settings.optional(),
  fleet: settings.optional(),
  flannel: settings.optional(),
  locksmith: settings.optional(),
  update: z
    .strictObject({
      reboot_strategy: z.enum(["best-effort", "etcd-lock", "reboot", "off"]).optional(),
      group: z.string().optional(),
      server: z.string().optional(),
    })
    .optional(),
  units: z.array(unit).optional(),
  oem: settings.optional(),
});

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 at most. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** An absolute path without line breaks or other control characters. */
const FILE_PATH = /^\/[^\u0000-\u001f\u007f\u0085\u2028\u2029]*$/;

/** User names and file paths: one line each, in their own syntax (cloud-config and extra values alike). */
const users = z
  .array(z.looseObject({ name: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "not a user name" }) }))
  .optional();
const writeFiles = z
  .array(z.looseObject({ path: z.string().regex(FILE_PATH, { error: "not an absolute path on one line" }) }))
  .optional();

export const cloudConfigSchema = z.strictObject({
  hostname: z.string().min(1).optional(),
  ssh_authorized_keys: z.array(z.string()).optional(),
  coreos: coreos.optional(),
  users,
  write_files: writeFiles,
  manage_etc_hosts: z.string().optional(),
});

export type CloudConfig = z.infer<typeof cloudConfigSchema>;

/**
 * What a user's extra cloud-config may set where a value becomes a host name, a file name, a user
 * name or an authorized key in the guest: each on one line, in its own syntax.
 */
const extraValuesSchema = z.looseObject({
  hostname: z.string().regex(HOSTNAME, { error: "not an RFC 1123 host name" }).optional(),
  ssh_authorized_keys: z
    .array(
      z
        .string()
        .refine((k) => parsePublicKey(k) !== undefined, { error: "not one OpenSSH public key on one line" }),
    )
    .optional(),
  users,
  write_files: writeFiles,
});

export function validateExtraValues(extra: unknown, source: string): void {
  const result = extraValuesSchema.safeParse(extra);
  if (result.success) return;
  const problem = firstProblem(result.error);
  throw invalid(source, problem.path, problem.message);
}

/** Throws a UsageError naming `source` and the first offending path. */
export function validateCloudConfig(tree: unknown, source: string): CloudConfig {
  const hyphen = findHyphenatedKey(tree, []);
  if (hyphen) {
    throw invalid(
      source,
      formatPath(hyphen),
      "keys are spelled with underscores (Flatcar's coreos-cloudinit ignores hyphens)",
    );
  }
  const result = cloudConfigSchema.safeParse(tree);
  if (result.success) return result.data;
  const problem = firstProblem(result.error);
  throw invalid(source, problem.path, problem.message);
}

function invalid(source: string, where: string, message: string): UsageError {
  return new UsageError(`${source}: ${where}: ${message}`, {
    hint: "top-level keys: hostname, ssh_authorized_keys, coreos, users, write_files, manage_etc_hosts; coreos keys: etcd2, fleet, flannel, locksmith, update, units, oem",
    details: { file: source, path: where },
  });
}

function findHyphenatedKey(node: unknown, path: TreePath): TreePath | undefined {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) {
      const found = findHyphenatedKey(item, [...path, i]);
      if (found) return found;
    }
  } else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key.includes("-")) return [...path, key];
      const found = findHyphenatedKey(value, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
