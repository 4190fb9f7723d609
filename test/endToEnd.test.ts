import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CaptureMetadata, type FuseOutcome, HybridDepthClient } from "#shared/client/index.ts";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { type PipelineOutput, runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { signedFetch } from "../gpu-service/src/testing/signedFetch.ts";
import { loadCaptureForUpload } from "../scripts/captureUpload.ts";
import { type LocalStack, startLocalStack } from "../scripts/localStack.ts";
import { BUNDLED_SAMPLE } from "./helpers/sharedData.ts";

// SDK → edge worker → queue → GPU service → R2 → SDK, on loopback, against the embedded pipeline
// (the CLI's path) run in this process on the same capture.
let stack: LocalStack;
let client: HybridDepthClient;
let meta: CaptureMetadata;
let frames: Buffer[];
let embedded: PipelineOutput;
let embeddedMs: number;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Sum of the GPU service's `hybriddepth_jobs_total` over outcomes, read from /metrics (signed). */
let scrapes = 0;
async function gpuJobsTotal(): Promise<number> {
  // A fresh query per scrape: the service refuses a replayed signature (same path, same second).
  const path = `/metrics?scrape=${++scrapes}`;
  const res = await signedFetch(stack.gpu.url, stack.secrets.GPU_SERVICE_SECRET, path);
  expect(res.status).toBe(200);
  const text = await res.text();
  let total = 0;
  for (const m of text.matchAll(/^hybriddepth_jobs_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm))
    total += Number(m[1]);
  return total;
}

beforeAll(async () => {
  ({ meta, frames } = await loadCaptureForUpload(BUNDLED_SAMPLE));
  // The embedded pipeline first, before the stack starts: once to load the prior, then the
  // median of three timed runs (the machine is shared; one run is a noisy baseline).
  const model = await resolveModel();
  const opts = { stage: "full" as const, ...(model ? { prior: await loadPrior(model) } : {}) };
  await runPipeline(await loadCaptureDir(BUNDLED_SAMPLE), opts);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    embedded = await runPipeline(await loadCaptureDir(BUNDLED_SAMPLE), opts);
    times.push(performance.now() - t0);
  }
  embeddedMs = times.sort((a, b) => a - b)[1]!;

  stack = await startLocalStack({ edgeVars: { RETRY_BASE_SECONDS: "1", RETRY_MAX_SECONDS: "2" } });
  client = new HybridDepthClient({ baseUrl: stack.edge.url, apiKey: stack.apiKey });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe("end to end through the local stack", () => {
  let first: FuseOutcome;
  let firstMs: number;

  it("the SDK's depth is the embedded pipeline's depth", async () => {
    const jobsBefore = await gpuJobsTotal();
    const t0 = performance.now();
    const seen = new Map<string, number>(); // first time each phase / state was seen
    first = await client.fuse(meta, frames, {
      pollIntervalMs: 100,
      onProgress: (p) => {
        const key = p.phase === "processing" ? p.status.state : p.phase;
        if (!seen.has(key)) seen.set(key, performance.now() - t0);
      },
    });
    firstMs = performance.now() - t0;
    const at = (k: string) => (seen.get(k) ?? Number.NaN).toFixed(0);
    console.info(
      `[e2e] first seen (ms from start): created ${at("created")}, finalized ${at("finalized")}, ` +
        `processing ${at("processing")}, done ${at("done")}; depth read ${firstMs.toFixed(0)}; ` +
        `GPU service timings ${JSON.stringify(first.status.timingsMs)}`,
    );
    expect(first.finalize.cacheHit).toBe(false);
    expect(first.status.state).toBe("done");
    // The GPU service ran it (once).
    expect((await gpuJobsTotal()) - jobsBefore).toBe(1);

    const { depth } = first;
    const local = embedded.result;
    expect([depth.width, depth.height]).toEqual([local.width, local.height]);
    expect(depth.data.length).toBe(embedded.depth.data.length);
    let maxDiff = 0;
    for (let i = 0; i < depth.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(depth.data[i]! - embedded.depth.data[i]!));
    const result = await first.capture.getDepth("json");
    for (const key of ["stage", "requestedStage", "model", "pipelineVersion"] as const)
      expect(result[key], key).toEqual(local[key]);
    expect(result.scale).toBeCloseTo(local.scale ?? Number.NaN, 5);
    console.info(
      `[e2e] max |depth(SDK) − depth(embedded)| = ${maxDiff.toExponential(2)} m over ${depth.data.length} px; ` +
        `stage ${result.stage}, model ${result.model}`,
    );
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it("the same capture again is a cache hit: done at finalize, the GPU service never sees it", async () => {
    const jobsBefore = await gpuJobsTotal();
    const t0 = performance.now();
    const second = await client.fuse(meta, frames, { pollIntervalMs: 100 });
    const secondMs = performance.now() - t0;
    expect(second.capture.id).not.toBe(first.capture.id);
    expect(second.finalize).toMatchObject({
      state: "done",
      cacheHit: true,
      address: first.finalize.address,
    });
    expect(second.status.attempts).toBe(0);
    expect(await gpuJobsTotal()).toBe(jobsBefore);

    expect(sha256(new Uint8Array(second.depth.data.buffer))).toBe(
      sha256(new Uint8Array(first.depth.data.buffer)),
    );
    for (const f of ["png16", "confidence", "preview"] as const)
      expect(sha256(await second.capture.getDepth(f)), f).toBe(
        sha256(await first.capture.getDepth(f)),
      );
    console.info(
      `[e2e] sample through the stack: ${firstMs.toFixed(0)} ms (cache hit: ${secondMs.toFixed(0)} ms); ` +
        `embedded pipeline: ${embeddedMs.toFixed(0)} ms; ratio stack/embedded ${(firstMs / embeddedMs).toFixed(2)}`,
    );
  });

  it("changed metadata is a new address: computed again, by the GPU service", async () => {
    const changed = structuredClone(meta);
    changed.frames[0]!.focusDistance += 1e-3;
    const jobsBefore = await gpuJobsTotal();
    const t0 = performance.now();
    const third = await client.fuse(changed, frames, { pollIntervalMs: 100 });
    const thirdMs = performance.now() - t0;
    expect(third.finalize.cacheHit).toBe(false);
    expect(third.finalize.address).not.toBe(first.finalize.address);
    expect((await gpuJobsTotal()) - jobsBefore).toBe(1);
    console.info(
      `[e2e] a second, uncached capture through the warm stack: ${thirdMs.toFixed(0)} ms; ` +
        `ratio stack/embedded ${(thirdMs / embeddedMs).toFixed(2)}; GPU service total ${third.status.timingsMs?.total} ms`,
    );
  });
});
