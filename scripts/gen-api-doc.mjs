#!/usr/bin/env zx
// Writes docs/json-shapes.md (every API object and request shape) from the zod schemas in
// src/api/, as built into dist/. A unit test fails when the checked-in file is stale.
//   npx tsc -p tsconfig.json && npx zx scripts/gen-api-doc.mjs
import { writeFile } from "node:fs/promises";

const root = path.resolve(import.meta.dirname, "..");
const { renderApiDoc } = await import(path.join(root, "dist/api/doc.js"));
const file = path.join(root, "docs/json-shapes.md");
await writeFile(file, renderApiDoc());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
