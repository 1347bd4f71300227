// How command declarations refer to their implementation: a module path and an export, imported
// only when the command runs.
import { type Command, Option } from "./commander.js";

export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
}

type Action = (...args: unknown[]) => Promise<void>;

/** Wraps a lazily imported action: positional args first, then merged options. */
export function lazy(module: string, name: string): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const mod = (await import(module)) as Record<string, Action>;
    await mod[name]!(...args.slice(0, -2), cmd.optsWithGlobals());
  };
}

export const json = () => new Option("--json", "print machine-readable JSON");

export const OUTPUT_FORMATS = ["json", "yaml", "wide", "name"] as const;

/** The output options of a listing command: `-o json|yaml|wide|name`, `-q` and `--json` (= `-o json`). */
export function listing(cmd: Command): Command {
  return cmd
    .addOption(json())
    .addOption(
      new Option("-o, --output <format>", "json, yaml, wide (more columns) or name (one per line)").choices(
        OUTPUT_FORMATS,
      ),
    )
    .addOption(new Option("-q, --quiet", "print names only (as -o name)"));
}

/** For removals (vm destroy, image rm, mirror rm): see missing.ts for the rule. */
export const IGNORE_MISSING = ["--ignore-missing", "succeed when there is nothing to remove"] as const;
