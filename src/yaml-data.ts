// YAML files lab reads (lab.yaml, role templates, artifact lists) are plain data: js-yaml's
// CORE_SCHEMA (no timestamps, binary or other extras), and a syntax error names file, line, column.
// js-yaml has no limit on aliases: `&a [*a, *a, ...]` nested ten deep is a few hundred bytes that
// expand to billions of nodes once anything walks or serializes the tree, so every tree read is
// counted, aliases expanded, against MAX_YAML_NODES before anyone uses it.
import yaml from "js-yaml";
import { UsageError } from "./errors.js";

/** Far more than any lab file, template or cloud-config needs; cheap to walk. */
export const MAX_YAML_NODES = 100_000;

/**
 * Whether the tree, with every shared (aliased) subtree counted each time it appears, has more
 * than `max` nodes. Stops as soon as it has counted past `max`, so it is cheap on any input,
 * cycles included.
 */
export function exceedsNodes(tree: unknown, max = MAX_YAML_NODES): boolean {
  let count = 0;
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (++count > max) return true;
    if (Array.isArray(node)) for (const item of node) stack.push(item);
    else if (node !== null && typeof node === "object")
      for (const [key, value] of Object.entries(node)) {
        count += Math.ceil(key.length / 1024); // a long key is worth several nodes
        stack.push(value);
      }
    else if (typeof node === "string") count += Math.floor(node.length / 1024);
  }
  return count > max;
}

export function parseYamlData(text: string, source: string, hint?: string): unknown {
  let data: unknown;
  try {
    data = yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: source });
  } catch (err) {
    const reason =
      err instanceof yaml.YAMLException
        ? `${err.reason} (line ${err.mark.line + 1}, column ${err.mark.column + 1})`
        : String(err);
    throw new UsageError(`${source}: not valid YAML: ${reason}`, {
      hint,
      cause: err,
      details: { file: source },
    });
  }
  if (exceedsNodes(data)) {
    throw new UsageError(
      `${source}: expands to more than ${MAX_YAML_NODES} values (aliases counted each time)`,
      {
        hint: "a lab file is small: check for aliases (*name) that repeat large parts, or recursive ones",
        details: { file: source },
      },
    );
  }
  return data;
}
