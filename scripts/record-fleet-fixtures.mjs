#!/usr/bin/env node
// Records fleet v1 API exchanges (status + body) from a real fleetd for the unit tests' fixtures.
//   node scripts/record-fleet-fixtures.mjs ENDPOINT OUTDIR PHASE
// PHASE "empty" before any unit exists, "running" while the test units run, "errors" for the
// failure answers. Run inside the namespace that can reach the fleet endpoint.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

const [endpoint, outDir, phase] = process.argv.slice(2);
const exchanges = {
  empty: [
    ["GET", "/fleet/v1/machines"],
    ["GET", "/fleet/v1/units"],
    ["GET", "/fleet/v1/state"],
  ],
  running: [
    ["GET", "/fleet/v1/units"],
    ["GET", "/fleet/v1/state"],
    ["GET", "/fleet/v1/state?unitName=hello-global.service"],
    ["GET", "/fleet/v1/units/hello-api.service"],
  ],
  errors: [
    ["GET", "/fleet/v1/units/nope.service"],
    ["DELETE", "/fleet/v1/units/nope.service"],
    ["PUT", "/fleet/v1/units/nope.service", { desiredState: "launched" }],
    [
      "PUT",
      "/fleet/v1/units/fixture-bad-state.service",
      { desiredState: "started", options: [{ section: "Service", name: "ExecStart", value: "/bin/true" }] },
    ],
    ["GET", "/fleet/v1/units/fixture-bad-state.service"],
    ["DELETE", "/fleet/v1/units/fixture-bad-state.service"],
    ["GET", "/fleet/v1/bogus"],
  ],
}[phase];

await mkdir(outDir, { recursive: true });
for (const [method, url, body] of exchanges) {
  const res = await fetch(`${endpoint}${url}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  const name = `${phase}-${method.toLowerCase()}-${url.replace(/^\/fleet\/v1\//, "").replace(/[^a-z0-9.-]+/gi, "_")}.json`;
  await writeFile(
    path.join(outDir, name),
    `${JSON.stringify({ fleet: "v1.0.0", method, url, request: body ?? null, status: res.status, body: parsed }, null, 2)}\n`,
  );
}
