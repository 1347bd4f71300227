// How the CLI shows things: tables for people, JSON for programs, and errors as one line,
// a hint, and a short tail of tool output.
import { createRequire } from "node:module";
import { LabError, toLabError } from "../errors.js";
import { paint, paintState } from "./colour.js";
import { formatTable } from "./table.js";

// Loaded on first use: only `-o yaml` needs js-yaml.
const require = createRequire(import.meta.url);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** table (default), wide (more columns), json, yaml, or name (one name per line). */
export type OutputFormat = "table" | "wide" | "json" | "yaml" | "name";

export interface OutputOpts {
  json?: boolean;
  output?: string;
  quiet?: boolean;
}

/** `-q` wins, then `-o`, then `--json` (an alias of `-o json`). commander checks `-o`'s choices. */
export function outputFormat(opts: OutputOpts): OutputFormat {
  if (opts.quiet) return "name";
  if (opts.output) return opts.output as OutputFormat;
  return opts.json ? "json" : "table";
}

/** A value in a format for programs: JSON (as the API answers) or the same as YAML. */
export function printData(value: unknown, format: "json" | "yaml"): void {
  if (format === "json") {
    printJson(value);
    return;
  }
  const yaml = require("js-yaml") as typeof import("js-yaml");
  process.stdout.write(yaml.dump(value, { noRefs: true, lineWidth: -1 }));
}

export interface ListingView<T> {
  name: (item: T) => string;
  table: (items: T[]) => void;
  /** The table with more columns; the plain table when there are none. */
  wide?: (items: T[]) => void;
}

/**
 * Prints a listing in the chosen format. JSON and YAML print the objects exactly as the API
 * answers them (the shapes in docs/json-shapes.md); `name` prints one name per line.
 */
export function printListing<T>(items: T[], format: OutputFormat, view: ListingView<T>): void {
  if (format === "json" || format === "yaml") {
    printData(items, format);
    return;
  }
  if (format === "name") {
    for (const i of items) process.stdout.write(`${view.name(i)}\n`);
    return;
  }
  (format === "wide" ? (view.wide ?? view.table) : view.table)(items);
}

export function printTable(head: string[], rows: (string | number | null | undefined)[][]): void {
  if (rows.length === 0) {
    // On stderr: a pipe reading the table gets no rows, not a line that looks like one.
    process.stderr.write("(none)\n");
    return;
  }
  process.stdout.write(
    formatTable(
      head,
      rows.map((r) => r.map((c) => (c === undefined ? "-" : paintState(String(c))))),
    ),
  );
}

export function printKeyValues(pairs: [string, unknown][]): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs)
    process.stdout.write(`${k.padEnd(width)}  ${v === undefined || v === null ? "-" : String(v)}\n`);
}

/** Prints an error and returns the exit code. The entry point is the only caller of process.exit. */
export function reportError(err: unknown, opts: { json?: boolean; debug?: boolean }): number {
  const e = toLabError(err);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
    return e.exitCode;
  }
  process.stderr.write(`${paint(["bold", "red"], "error:", process.stderr)} ${e.message}\n`);
  if (e.hint) process.stderr.write(`${paint("cyan", "hint:", process.stderr)} ${e.hint}\n`);
  // What a failed operation could not put back is left on the host: say so, never drop it.
  const rollback = e.details?.rollbackFailures;
  if (Array.isArray(rollback))
    for (const f of rollback)
      process.stderr.write(`${paint("yellow", "not undone:", process.stderr)} ${f}\n`);
  const stderr = e.details?.stderr;
  if (typeof stderr === "string" && stderr.trim() && e.code === "host_tool") {
    const argv = e.details?.argv as string[] | undefined;
    if (argv) process.stderr.write(`command: ${argv.map(quote).join(" ")}\n`);
    process.stderr.write(
      `${stderr
        .trimEnd()
        .split("\n")
        .slice(-20)
        .map((l) => `  | ${l}`)
        .join("\n")}\n`,
    );
  }
  if (opts.debug) {
    let cause: unknown = err;
    while (cause) {
      process.stderr.write(`${(cause as Error).stack ?? String(cause)}\n`);
      cause = (cause as Error).cause;
    }
  }
  return e instanceof LabError ? e.exitCode : 70;
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** A progress line writer for long operations: one line per event on a terminal, nothing in --json. */
export function progressPrinter(json: boolean): ((e: Record<string, unknown>) => void) | undefined {
  if (json) return undefined;
  return (e) => {
    if (typeof e.message === "string") process.stderr.write(`  ${e.message}\n`);
  };
}
