// Small helpers for parsed YAML/JSON trees: type guards, path printing, deep merge.
import { formatFieldPath } from "../field-problems.js";

export type TreePath = readonly (string | number)[];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `coreos.units[0].name`; keys that are not simple words are quoted. */
export function formatPath(path: TreePath): string {
  return formatFieldPath(path);
}

/** First path (if any) holding something that is not plain data (string, finite number, boolean, null, array, object). */
export function findNonData(value: unknown, path: TreePath = []): TreePath | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const bad = findNonData(item, [...path, i]);
      if (bad) return bad;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return path;
  for (const [key, item] of Object.entries(value)) {
    if (key === "__proto__") return [...path, key];
    const bad = findNonData(item, [...path, key]);
    if (bad) return bad;
  }
  return undefined;
}

/** Merges `extra` into `base` without modifying either: mappings recursively, arrays appended, scalars replaced. */
export function deepMerge(base: unknown, extra: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(extra)) return [...base, ...extra];
  if (isPlainObject(base) && isPlainObject(extra)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(extra)) {
      out[key] = Object.hasOwn(base, key) ? deepMerge(base[key], value) : value;
    }
    return out;
  }
  return extra;
}
