// Placeholder substitution in a parsed role template. Substitution happens inside string values of
// the parsed tree, in one pass, so a value can never add keys or expand into another placeholder.
import { UsageError } from "../errors.js";
import { formatPath, isPlainObject, type TreePath } from "./tree.js";

/** Placeholders replaced inside string values. */
export const SCALAR_PLACEHOLDERS = [
  "name",
  "ip",
  "prefix",
  "gateway",
  "dns",
  "domain",
  "etcd_endpoint",
  "role",
  "fleet_metadata",
  "mirror_url",
  "kubelet_config",
] as const;

/** A string value that is exactly this placeholder becomes the list of ssh keys. */
export const LIST_PLACEHOLDER = "ssh_authorized_keys";

export type PlaceholderValues = Record<(typeof SCALAR_PLACEHOLDERS)[number], string>;

/**
 * A string value that is exactly `{{include FILE}}` becomes the text of cloud-config/include/FILE
 * (a script is kept as a file of its own, readable and checkable, instead of inside YAML). The
 * included text is taken as is: placeholders in it are not substituted.
 */
const INCLUDE_ONLY = /^\{\{\s*include\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s*\}\}$/;

interface Context {
  file: string;
  values: PlaceholderValues;
  sshKeys: readonly string[];
  includes: ReadonlyMap<string, string>;
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const LIST_ONLY = new RegExp(`^\\{\\{\\s*${LIST_PLACEHOLDER}\\s*\\}\\}$`);

export function substitutePlaceholders(
  tree: unknown,
  file: string,
  values: PlaceholderValues,
  sshKeys: readonly string[],
  includes: ReadonlyMap<string, string> = new Map(),
): unknown {
  return walk(tree, [], { file, values, sshKeys, includes });
}

/** File names a tree includes with `{{include FILE}}`, so the caller can read just those. */
export function includedFiles(tree: unknown): string[] {
  if (typeof tree === "string") {
    const m = INCLUDE_ONLY.exec(tree);
    return m ? [m[1]!] : [];
  }
  if (Array.isArray(tree)) return tree.flatMap(includedFiles);
  if (isPlainObject(tree)) return Object.values(tree).flatMap(includedFiles);
  return [];
}

function walk(node: unknown, path: TreePath, ctx: Context): unknown {
  if (typeof node === "string") {
    if (LIST_ONLY.test(node)) return [...ctx.sshKeys];
    const include = INCLUDE_ONLY.exec(node);
    if (include) {
      const text = ctx.includes.get(include[1]!);
      if (text === undefined) throw templateError(ctx, path, `no include file ${include[1]}`);
      return text;
    }
    return substituteString(node, path, ctx);
  }
  if (Array.isArray(node)) {
    // An item that is the list placeholder is spliced in, so `- "{{ssh_authorized_keys}}"` works too.
    return node.flatMap((item, i) =>
      typeof item === "string" && LIST_ONLY.test(item) ? [...ctx.sshKeys] : [walk(item, [...path, i], ctx)],
    );
  }
  if (isPlainObject(node)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.includes("{{") || key.includes("}}")) {
        throw templateError(ctx, [...path, key], "placeholders are substituted in values only, not in keys");
      }
      out[key] = walk(value, [...path, key], ctx);
    }
    return out;
  }
  return node;
}

function substituteString(text: string, path: TreePath, ctx: Context): string {
  let out = "";
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    out += literal(text.slice(last, match.index), path, ctx);
    out += placeholderValue((match[1] ?? "").trim(), path, ctx);
    last = match.index + match[0].length;
  }
  return out + literal(text.slice(last), path, ctx);
}

function literal(text: string, path: TreePath, ctx: Context): string {
  if (text.includes("{{") || text.includes("}}")) {
    throw templateError(ctx, path, `unresolved placeholder in ${JSON.stringify(text)}`);
  }
  return text;
}

function placeholderValue(name: string, path: TreePath, ctx: Context): string {
  if (name === LIST_PLACEHOLDER) {
    throw templateError(ctx, path, `{{${LIST_PLACEHOLDER}}} is a list: it must be the whole value`);
  }
  if (!(SCALAR_PLACEHOLDERS as readonly string[]).includes(name)) {
    throw templateError(ctx, path, `unknown placeholder {{${name}}}`);
  }
  return ctx.values[name as keyof PlaceholderValues];
}

function templateError(ctx: Context, path: TreePath, message: string): UsageError {
  const known = [...SCALAR_PLACEHOLDERS, LIST_PLACEHOLDER, "include FILE"].map((p) => `{{${p}}}`).join(", ");
  return new UsageError(`${ctx.file}: ${formatPath(path)}: ${message}`, {
    hint: `placeholders: ${known}`,
    details: { file: ctx.file, path: formatPath(path) },
  });
}
