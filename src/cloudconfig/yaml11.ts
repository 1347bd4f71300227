// YAML 1.1 safety for cloud-config output. coreos-cloudinit reads YAML with go-yaml (YAML 1.1
// rules: `off`, `y`, `0755`, `1_000`, `1:20` are not strings), js-yaml writes YAML 1.2. We emit
// every string value quoted, then re-read the text with YAML 1.1 resolution rules to prove it.
import yaml from "js-yaml";
import { UsageError } from "../errors.js";
import { exceedsNodes, MAX_YAML_NODES } from "../yaml-data.js";
import { formatPath, isPlainObject } from "./tree.js";

/** A plain scalar that a YAML 1.1 reader would not take as a string. */
export class Yaml11Scalar {
  constructor(
    readonly tag: "null" | "bool" | "int" | "float" | "timestamp" | "merge" | "value",
    readonly text: string,
  ) {}
  /** Used when such a scalar is a mapping key: can never equal a real key. */
  toString(): string {
    return `\u0000${this.tag}:${this.text}`;
  }
}

// The YAML 1.1 type repository (yaml.org/type) plus what go-yaml's resolver accepts, erring wide.
const YAML11_PATTERNS: ReadonlyArray<[Yaml11Scalar["tag"], RegExp]> = [
  ["null", /^(?:~|null|Null|NULL|)$/],
  ["bool", /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/],
  ["int", /^[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|[1-9][0-9_]*(?::[0-5]?[0-9])+)$/],
  [
    "float",
    /^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  ],
  [
    "timestamp",
    /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$/,
  ],
  ["merge", /^<<$/],
  ["value", /^=$/],
];

/** Loads plain scalars the way a YAML 1.1 reader resolves them; anything non-string becomes a Yaml11Scalar. */
export const YAML11_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: YAML11_PATTERNS.map(
    ([tag, pattern]) =>
      new yaml.Type(`tag:yaml.org,2002:${tag}`, {
        kind: "scalar",
        resolve: (data: unknown) => (data === null ? tag === "null" : pattern.test(String(data))),
        construct: (data: unknown) => new Yaml11Scalar(tag, data === null ? "" : String(data)),
      }),
  ),
});

const DUMP_OPTIONS: yaml.DumpOptions = {
  forceQuotes: true,
  quotingType: '"',
  lineWidth: -1,
  noRefs: true,
  sortKeys: false,
};

/**
 * Serializes a JSON-like tree. `mismatch` names the first place where a YAML 1.1 reader would see
 * something other than what was given (only possible for odd mapping keys: values are quoted).
 */
export function dumpYaml11(tree: unknown): { text: string; mismatch?: string } {
  // noRefs writes every shared subtree out in full: bound what that can cost.
  if (exceedsNodes(tree))
    throw new UsageError(`cloud-config expands to more than ${MAX_YAML_NODES} values`, {
      hint: "check the cloudConfig for aliases (*name) that repeat large parts",
    });
  const text = yaml.dump(tree, DUMP_OPTIONS);
  const mismatch = findYaml11Mismatch(tree, text);
  return mismatch === undefined ? { text } : { text, mismatch };
}

/** Path of the first value in `text` that a YAML 1.1 reader would not read back as `expected`. */
export function findYaml11Mismatch(expected: unknown, text: string): string | undefined {
  return compare(expected, yaml.load(text, { schema: YAML11_SCHEMA }), []);
}

function compare(expected: unknown, got: unknown, path: (string | number)[]): string | undefined {
  if (got instanceof Yaml11Scalar) return sameKind(expected, got) ? undefined : formatPath(path);
  if (Array.isArray(expected)) {
    if (!Array.isArray(got) || got.length !== expected.length) return formatPath(path);
    for (const [i, item] of expected.entries()) {
      const bad = compare(item, got[i], [...path, i]);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(got)) return formatPath(path);
    for (const key of Object.keys(expected)) {
      if (!Object.hasOwn(got, key)) return formatPath([...path, key]);
      const bad = compare(expected[key], got[key], [...path, key]);
      if (bad !== undefined) return bad;
    }
    return Object.keys(got).length === Object.keys(expected).length ? undefined : formatPath(path);
  }
  return expected === got ? undefined : formatPath(path);
}

function sameKind(expected: unknown, got: Yaml11Scalar): boolean {
  switch (got.tag) {
    case "null":
      return expected === null;
    case "bool":
      return typeof expected === "boolean";
    case "int":
    case "float":
      return typeof expected === "number";
    default:
      return false;
  }
}
