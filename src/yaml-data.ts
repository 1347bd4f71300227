// YAML files lab reads (lab.yaml, role templates, artifact lists) are plain data: js-yaml's
// CORE_SCHEMA (no timestamps, binary or other extras), and a syntax error names file, line, column.
import yaml from "js-yaml";
import { UsageError } from "./errors.js";

export function parseYamlData(text: string, source: string, hint?: string): unknown {
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: source });
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
}
