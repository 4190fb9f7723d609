import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";
import { gpuServiceStub } from "./workers/test/gpuServiceStub.ts";

// Test-only secrets for the worker; `TEST_API_KEY`'s sha256 is the accepted key hash.
const TEST_API_KEY = "test-api-key-0123456789";
const TEST_API_KEY_SHA256 = "47bd0e2f856fe258ebba4d00930ab811d0c004dafae068c9d72511ca3512cca6";
// A fresh signing key per run: the worker trusts its public half (JWT_JWKS); tests sign with the private one.
const jwtKeys = await generateKeyPair("ES256", { extractable: true });
const jwtPublic = { ...(await exportJWK(jwtKeys.publicKey)), kid: "test", alg: "ES256" };
const jwtPrivate = { ...(await exportJWK(jwtKeys.privateKey)), kid: "test", alg: "ES256" };

// Node test files remove the temporary folders their tests made.
const REMOVE_TEMP_DIRS = "./test/helpers/removeTempDirs.ts";

// One project per piece: each piece's tests sit beside its code; cross-piece tests in test/.
// The JSON report is what .ci/run counts.
export default defineConfig({
  test: {
    // The worker serves bundled page scripts: build them first (scripts/buildPageScripts.ts).
    globalSetup: ["./scripts/buildPageScripts.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "out/test-results.json" },
    projects: [
      {
        test: {
          name: "shared",
          include: ["shared/src/**/*.test.ts"],
          environment: "node",
          setupFiles: [REMOVE_TEMP_DIRS],
        },
      },
      {
        test: {
          name: "gpu-service",
          include: ["gpu-service/src/**/*.test.ts"],
          environment: "node",
          setupFiles: [REMOVE_TEMP_DIRS],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.test.ts"],
          environment: "node",
          setupFiles: [REMOVE_TEMP_DIRS],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // The edge worker in the real workerd runtime, with local R2, Durable Objects and Queues.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                GPU_SERVICE_SECRET: "test-gpu-service-secret-0123456789",
                UPLOAD_SIGNING_KEY: "test-upload-signing-key-0123456789",
                API_KEY_HASHES: TEST_API_KEY_SHA256,
                TEST_API_KEY,
                JWT_JWKS: JSON.stringify({ keys: [jwtPublic] }),
                JWT_ISSUER: "https://auth.test",
                JWT_AUDIENCE: "hybriddepth",
                TEST_JWT_PRIVATE_JWK: JSON.stringify(jwtPrivate),
                // Fast queue redelivery and small R2 parts keep the tests short.
                RETRY_BASE_SECONDS: "1",
                RETRY_MAX_SECONDS: "1",
                GPU_TIMEOUT_SECONDS: "1",
                TUS_PART_MIB: "5",
                // The suite's one API key creates many captures per file and storage outlives a
                // test: no quota here. workers/src/routes/quota.test.ts runs the app with the defaults.
                MAX_OPEN_CAPTURES_PER_PRINCIPAL: "1000000",
                MAX_STORED_BYTES_PER_PRINCIPAL: String(2 ** 50),
              },
              ratelimits: {
                API_RATE_LIMIT: { namespace_id: "1001", simple: { limit: 300, period: 60 } },
                SIGNED_RATE_LIMIT: { namespace_id: "1002", simple: { limit: 40, period: 60 } },
              },
              serviceBindings: { GPU_SERVICE: gpuServiceStub },
            },
          }),
        ],
        test: { name: "workers", include: ["workers/src/**/*.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
