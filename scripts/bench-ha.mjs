#!/usr/bin/env zx
// Failover figures of the HA topology: runs test/integration/ha.test.ts (3 etcd, 2 lb, 2 kubernetes
// machines on the lab-flatcar-lb image, in namespaces it creates and removes) and prints how long
// the API VIP was unanswered after the VM holding it was killed, how long until every request
// landed on the surviving API server after one API server machine was killed, and how many
// requests failed in each window (the test polls the VIP every 200 ms, each request bounded at 3 s).
//   npm run bench:ha     (root; needs .cache/images/lab-flatcar-lb or LAB_FLATCAR_LB_BUNDLE, and fleetd)
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

const root = path.resolve(import.meta.dirname, "..");
const dir = await mkdtemp(path.join(tmpdir(), "lab-bench-ha-"));
const report = path.join(dir, "figures.json");
const started = Date.now();
try {
  await $({
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, LAB_TEST_HA: "1", LAB_HA_REPORT: report },
  })`npx vitest run --project integration test/integration/ha.test.ts`;
} finally {
  const f = JSON.parse(await readFile(report, "utf8").catch(() => "{}"));
  const ms = (x) => (x === undefined ? "     -" : `${(x / 1000).toFixed(1).padStart(6)} s`);
  const n = (x) => (x === undefined ? "-" : String(x));
  console.log("\nHA failover (lab-flatcar-lb guests; TCG when KVM is unusable)");
  console.log(
    `  VIP holder killed -> VIP answers again  ${ms(f.vipFailoverMs)}   failed requests: ${n(f.vipFailedRequests)}`,
  );
  console.log(
    `  API server killed -> all requests land  ${ms(f.apiFailoverMs)}   failed requests: ${n(f.apiFailedRequests)}`,
  );
  console.log(`  whole run (boot of 7 guests included)   ${ms(Date.now() - started)}`);
  await rm(dir, { recursive: true, force: true });
}
