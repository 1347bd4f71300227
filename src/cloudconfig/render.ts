// Renders a role template (cloud-config/<role>.yml) into the cloud-config a VM boots with:
// parse, substitute placeholders in values, merge user extras, validate, emit YAML 1.1-safe text.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { NotFoundError, UsageError } from "../errors.js";
import { kubeletConfig } from "../kube/kubelet-config.js";
import { repoRoot } from "../state/repo.js";
import { parseYamlData } from "../yaml-data.js";
import { validateCloudConfig, validateExtraValues } from "./schema.js";
import { includedFiles, substitutePlaceholders } from "./template.js";
import { deepMerge, findNonData, formatPath, isPlainObject } from "./tree.js";
import { dumpYaml11 } from "./yaml11.js";

export interface CloudConfigInput {
  name: string;
  role: string;
  ip: string;
  prefix: number;
  gateway: string;
  dns: string;
  domain: string;
  etcdEndpoint: string;
  /** Where the lab mirror answers this VM: http://GATEWAY:PORT. */
  mirrorUrl: string;
  sshKeys: string[];
  /** User-supplied cloud-config merged over the template: mappings merged, arrays appended. */
  extra?: Record<string, unknown>;
}

export const CLOUD_CONFIG_HEADER = "#cloud-config\n";
export const TEMPLATE_EXTENSION = ".yml";
const TEMPLATES_DIRNAME = "cloud-config";
const ROLE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export async function renderCloudConfig(templatesDir: string, input: CloudConfigInput): Promise<string> {
  const file = await templateFile(templatesDir, input.role);
  const template = parseTemplate(file, await readFile(file, "utf8"));
  const values = {
    name: input.name,
    ip: input.ip,
    prefix: String(input.prefix),
    gateway: input.gateway,
    dns: input.dns,
    domain: input.domain,
    etcd_endpoint: input.etcdEndpoint,
    role: input.role,
    fleet_metadata: `role=${input.role}`,
    mirror_url: input.mirrorUrl,
    // The defaults; `lab up` writes its network's own after it (lab/file/desired.ts withClusterPlan).
    kubelet_config: kubeletConfig(),
  };
  const includes = await readIncludes(templatesDir, includedFiles(template));
  let tree = substitutePlaceholders(template, file, values, input.sshKeys, includes);
  let source = file;
  if (input.extra !== undefined) {
    tree = mergeExtra(tree, input.extra, file);
    source = `${file} (with extra cloud-config)`;
  }
  validateCloudConfig(tree, source);
  const { text, mismatch } = dumpYaml11(tree);
  if (mismatch !== undefined) {
    throw new UsageError(`${source}: ${mismatch}: coreos-cloudinit (YAML 1.1) would misread this key`, {
      hint: "rename the key: YAML 1.1 reads keys like y, on, 1_000 or 1:20 as booleans or numbers",
    });
  }
  return CLOUD_CONFIG_HEADER + text;
}

/** Roles that have a template, sorted. A missing directory has none. */
export async function listRoles(templatesDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(templatesDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return entries
    .filter((f) => f.endsWith(TEMPLATE_EXTENSION))
    .map((f) => f.slice(0, -TEMPLATE_EXTENSION.length))
    .filter((role) => ROLE_NAME.test(role))
    .sort();
}

export const INCLUDE_DIRNAME = "include";

/** The files a template includes, read from <templates>/include; a missing one is left out (and reported by substitution). */
export async function readIncludes(templatesDir: string, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of new Set(names)) {
    try {
      out.set(name, await readFile(path.join(templatesDir, INCLUDE_DIRNAME, name), "utf8"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return out;
}

/** `<package root>/cloud-config`. */
export function defaultTemplatesDir(): string {
  return path.join(repoRoot(), TEMPLATES_DIRNAME);
}

async function templateFile(templatesDir: string, role: string): Promise<string> {
  if (!ROLE_NAME.test(role)) {
    throw new UsageError(`invalid role name ${JSON.stringify(role)}`, {
      hint: "a role is a lowercase RFC 1123 label: letters, digits and '-'",
    });
  }
  const file = path.join(templatesDir, role + TEMPLATE_EXTENSION);
  if (existsSync(file)) return file;
  const roles = await listRoles(templatesDir);
  throw new NotFoundError(`no cloud-config template for role "${role}"`, {
    hint: roles.length > 0 ? `available roles: ${roles.join(", ")}` : `no role templates in ${templatesDir}`,
    details: { role, templatesDir, roles },
  });
}

function parseTemplate(file: string, text: string): Record<string, unknown> {
  const tree = parseYamlData(text, file);
  if (!isPlainObject(tree)) {
    throw new UsageError(`${file}: ${formatPath([])}: a cloud-config template must be a mapping`, {
      details: { file },
    });
  }
  return tree;
}

function mergeExtra(tree: unknown, extra: unknown, file: string): unknown {
  const source = `${file} (extra cloud-config)`;
  if (!isPlainObject(extra)) {
    throw new UsageError(`${source}: ${formatPath([])}: extra cloud-config must be a mapping`);
  }
  const bad = findNonData(extra);
  if (bad) {
    throw new UsageError(
      `${source}: ${formatPath(bad)}: not plain data (string, number, boolean, list, map)`,
    );
  }
  validateExtraValues(extra, source);
  return deepMerge(tree, extra);
}
