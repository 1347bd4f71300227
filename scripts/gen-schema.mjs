#!/usr/bin/env zx
// Writes lab.schema.json (the JSON Schema editors use for lab.yaml) from the zod schema in
// src/lab/file/schema.ts, as built into dist/. A unit test fails when the checked-in file is stale.
//   npx tsc -p tsconfig.json && npx zx scripts/gen-schema.mjs
import { writeFile } from "node:fs/promises";

const root = path.resolve(import.meta.dirname, "..");
const { labJsonSchema } = await import(path.join(root, "dist/lab/file/schema.js"));
const file = path.join(root, "lab.schema.json");
await writeFile(file, `${JSON.stringify(labJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
