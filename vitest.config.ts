import { defineConfig } from "vitest/config";

// Two projects: fast pure tests, and integration tests that run real qemu, OVS, dnsmasq and
// iptables as root inside network namespaces the tests create. Integration tests run one file
// at a time: they share the host's CPU with TCG guests.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/chaos/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: "forks",
        },
      },
    ],
  },
});
