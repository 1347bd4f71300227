#!/usr/bin/env zx
// How lab up's pure checks scale with the number of machines: the time for N machines and for
// 2N on the same subnet, and their ratio (≈2 when linear; the old quadratic checks gave ≈4).
// Figures only; the unit tests check the answers, not the time. Run `npm run build` first.
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { desiredLab } = await import(path.join(root, "dist/lab/file/desired.js"));
const { parseLabText } = await import(path.join(root, "dist/lab/file/load.js"));
const { checkLab } = await import(path.join(root, "dist/lab/plan/checks.js"));

const env = {
  host: {
    routes: [{ dst: "default", dev: "eth0" }],
    addresses: [{ ifname: "lo", local: "127.0.0.1", prefixlen: 8 }],
  },
  labNetworks: [],
  reservations: new Map(),
  roles: ["etcd", "kubernetes"],
  catalog: [],
  unitFiles: [],
  fileProblems: [],
};
const text = (count) => `
networks:
  - name: default
    subnet: 10.20.0.0/16
    dhcpRange: 10.20.255.0-10.20.255.250
    cluster:
      podNetwork: 10.100.0.0/14
      podSubnetLength: 30
      serviceRange: 10.10.0.0/22
images:
  - name: lab-test
    import: ../images/lab-test
machines:
  - group: node
    role: kubernetes
    count: ${count}
`;

function timeChecks(count) {
  const started = performance.now();
  const lab = desiredLab(parseLabText(text(count), "lab.yaml"), "/labs/lab.yaml", "/root");
  const problems = checkLab(lab, env);
  if (problems.length > 0) throw new Error(`unexpected problems: ${JSON.stringify(problems.slice(0, 3))}`);
  return performance.now() - started;
}

timeChecks(1000); // warm-up
const n = 30000;
const one = timeChecks(n);
const two = timeChecks(2 * n);
console.log(`checks of ${n} machines: ${one.toFixed(0)} ms`);
console.log(`checks of ${2 * n} machines: ${two.toFixed(0)} ms`);
console.log(`ratio 2N/N: ${(two / one).toFixed(2)} (2 = linear, 4 = quadratic)`);
