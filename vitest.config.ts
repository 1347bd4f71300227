import { defineConfig } from "vitest/config";

// Fast pure tests; integration tests that run real qemu, OVS, dnsmasq and iptables as root inside
// network namespaces the tests create; and the chaos suite (faults against a running labd), kept
// apart so it can be run or skipped on its own. Integration and chaos files run one at a time in
// one fork (fileParallelism cannot be set per project): they share the host's CPU with TCG guests.
const rootSuite = { environment: "node", testTimeout: 180_000, hookTimeout: 180_000, pool: "forks" } as const;
const oneAtATime = { forks: { singleFork: true } };

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      {
        test: { name: "integration", include: ["test/integration/**/*.test.ts"], ...rootSuite, poolOptions: oneAtATime },
      },
      { test: { name: "chaos", include: ["test/chaos/**/*.test.ts"], ...rootSuite, poolOptions: oneAtATime } },
    ],
  },
});
