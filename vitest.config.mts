import { defineConfig } from "vitest/config";

// One project per piece: each piece's tests sit beside its code; cross-piece tests in test/.
// The JSON report is what .ci/run counts.
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "out/test-results.json" },
    projects: [
      { test: { name: "shared", include: ["shared/src/**/*.test.ts"], environment: "node" } },
      {
        test: {
          name: "gpu-service",
          include: ["gpu-service/src/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.test.ts"],
          environment: "node",
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
