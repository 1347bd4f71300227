// docs/json-shapes.md, generated from the schemas of src/api (scripts/gen-api-doc.mjs writes it;
// a unit test fails when the checked-in file is stale). Each shape is written as a compact
// TypeScript-like type read off zod's JSON Schema.
import { z } from "zod";
import { Daemon, Event, RecoverAnswer } from "./daemon.js";
import { CatalogEntry, Image, ImageChange } from "./images.js";
import { api } from "./index.js";
import { Artifact, ArtifactChange, Mirror } from "./mirror.js";
import { NetUpAnswer, Network } from "./networks.js";
import type { ApiRoute } from "./route.js";
import { Snapshot } from "./snapshots.js";
import { Vm, VmChange, VmRemoval } from "./vms.js";

type Json = Record<string, unknown>;

/** The objects, in the order the page lists them, with the commands that print each. */
const OBJECTS: [string, z.ZodType, string][] = [
  ["Vm", Vm, "`vm list` (a list), `vm show`, `GET /v1/vms/:name`"],
  ["VmChange", VmChange, "`vm create|start|stop|restart --json`"],
  ["VmRemoval", VmRemoval, "`vm destroy --json`"],
  ["Network", Network, "`net list` and `net status [NAME]` (always a list)"],
  ["NetUp", NetUpAnswer, "`net up --json`"],
  ["Image", Image, "`image list` (a list)"],
  ["CatalogEntry", CatalogEntry, "`image catalog` (a list)"],
  ["ImageChange", ImageChange, "`image pull|import --json`"],
  ["Mirror", Mirror, "`mirror list`"],
  ["Artifact", Artifact, "the entries of Mirror.artifacts"],
  ["ArtifactChange", ArtifactChange, "`mirror add|import --json`"],
  ["Snapshot", Snapshot, "`vm snapshot list --json` (a list)"],
  ["Daemon", Daemon, "`daemon status --json` (with `running`; all null when labd is not running)"],
  ["Event", Event, "`events --json`, one per line"],
  ["Recover", RecoverAnswer, "`recover --json`"],
];

const scalar = (t: unknown) => (t === "integer" ? "number" : String(t));

function typeOf(s: Json, indent: string): string {
  if (typeof s.$ref === "string") return s.$ref.replace("#/$defs/", "");
  if (Array.isArray(s.type)) return s.type.map(scalar).join(" | ");
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map((x) => typeOf(x, indent)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(" | ");
  if (s.type === "array") {
    const item = typeOf((s.items as Json) ?? {}, indent);
    return item.includes(" | ") ? `(${item})[]` : `${item}[]`;
  }
  if (s.type === "object") return objectOf(s, indent);
  if (typeof s.type === "string") return scalar(s.type);
  if (s.not !== undefined) return "never";
  return "unknown";
}

function objectOf(s: Json, indent: string): string {
  const props = (s.properties ?? {}) as Record<string, Json>;
  const required = new Set((s.required ?? []) as string[]);
  const extra = s.additionalProperties;
  if (Object.keys(props).length === 0 && extra && typeof extra === "object")
    return `Record<string, ${typeOf(extra as Json, indent)}>`;
  const inner = `${indent}  `;
  const lines = Object.entries(props).map(([k, v]) => {
    const note = typeof v.description === "string" ? ` // ${v.description}` : "";
    return `${inner}${k}${required.has(k) ? "" : "?"}: ${typeOf(v, inner)}${note}`;
  });
  if (s.additionalProperties !== undefined && s.additionalProperties !== false)
    lines.push(`${inner}[key: string]: unknown`);
  if (lines.length === 0) return s.additionalProperties === false ? "{}" : "Record<string, unknown>";
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** A schema as a TypeScript-like type: `io` picks the request (input) or answer (output) side. */
export function shapeText(schema: z.ZodType, io: "input" | "output" = "output"): string {
  const root = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  // A named object at the top is given as a reference to itself: write out its fields.
  const defs = (root.$defs ?? {}) as Record<string, Json>;
  const self = typeof root.$ref === "string" ? defs[root.$ref.replace("#/$defs/", "")] : undefined;
  return typeOf(self ?? root, "");
}

function nameOf(schema: z.ZodType | undefined): string | undefined {
  const hit = OBJECTS.find(([, s]) => s === schema);
  if (hit) return hit[0];
  const item = schema instanceof z.ZodArray ? OBJECTS.find(([, s]) => s === schema.element) : undefined;
  return item ? `${item[0]}[]` : undefined;
}

function routeRow(r: ApiRoute): string {
  const body = r.body ? "yes (below)" : "-";
  const answer = nameOf(r.answer) ?? "(below)";
  return `| \`${r.method} ${r.path}\` | ${body} | ${answer} | ${r.summary} |`;
}

export function renderApiDoc(): string {
  const routes = Object.values(api).flatMap((group) => Object.values(group) as ApiRoute[]);
  const out = [
    "# lab's JSON shapes",
    "",
    "Generated from the zod schemas in `src/api/` by `npm run schema`; do not edit by hand.",
    "",
    "Every object has one shape, the same in labd's API answers and in what the CLI prints with",
    "`--json` or `-o json` (`-o yaml` prints the same data as YAML). A value that is missing is",
    "`null`, never an absent field. Listing commands (`vm list`, `net list`, `net status`,",
    "`image list`, `image catalog`, `mirror list`) also take `-o wide`, `-o name` and `-q`.",
    "",
    "## Objects",
    "",
  ];
  for (const [name, schema, where] of OBJECTS) {
    const description = (z.globalRegistry.get(schema) as { description?: string } | undefined)?.description;
    out.push(`### ${name}`, "", `Printed by ${where}.${description ? ` ${description}` : ""}`, "");
    out.push("```ts", shapeText(schema), "```", "");
  }
  out.push("## API routes", "", "| route | request body | answer | what |", "| --- | --- | --- | --- |");
  out.push(...routes.map(routeRow), "");
  out.push(
    "## Request bodies",
    "",
    "labd refuses a body that does not fit (HTTP 400, naming the field).",
    "",
  );
  for (const r of routes.filter((x) => x.body)) {
    out.push(`### \`${r.method} ${r.path}\``, "", "```ts", shapeText(r.body!, "input"), "```", "");
  }
  const other = routes.filter((r) => !nameOf(r.answer));
  out.push("## Other answers", "");
  for (const r of other) {
    out.push(`### \`${r.method} ${r.path}\``, "", "```ts", shapeText(r.answer), "```", "");
  }
  out.push(
    "## Streams",
    "",
    "`lab up --json` prints one JSON object per line: a `plan`, then step events, then one",
    '`{type: "summary", elapsedMs, interrupted, failed: string | null, states: {STEP: STATE}}`',
    "(the same shape when nothing had to change). `lab down --json` prints one",
    '`{type: "outcome", kind, name, result, message}` per line as each is done, then',
    '`{type: "summary", failed: number}`.',
    "",
  );
  return out.join("\n");
}
