import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EdgeWorker,
  freePort,
  type GpuService,
  type LocalStack,
  startEdgeWorker,
  startGpuService,
  startLocalStack,
} from "../scripts/localStack.ts";
import {
  type CaptureState,
  type EdgeApi,
  edgeApi,
  errorCode,
  findR2Blob,
  type Status,
  sampleCapture,
  sha256,
} from "./helpers/faultsApi.ts";
import { gpuMetrics, metricSamples, waitForMetric } from "./helpers/faultsGpu.ts";
import { startThrottleProxy } from "./helpers/faultsProxy.ts";

// Faults on the real stack (GPU service + wrangler dev, loopback): a GPU service that crashes
// mid-job or is down for a while, a worker restart in the middle of a tus upload, and a frame
// whose stored bytes rot after upload. Fast queue redelivery keeps each case short.
const MIB = 1024 * 1024;
const FAST_RETRIES = { RETRY_BASE_SECONDS: "1", RETRY_MAX_SECONDS: "2" };
const JOBS = "hybriddepth_jobs_total";

const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

/** The outputs a done capture serves: every format answers 200 with a body. */
async function expectResultsServed(api: EdgeApi, s: Status): Promise<Record<string, number>> {
  expect(s.results).toBeDefined();
  const sizes: Record<string, number> = {};
  for (const [format, path] of Object.entries(s.results!)) {
    const res = await api.fetch(path);
    expect(res.status, `GET ${path}`).toBe(200);
    sizes[format] = (await res.arrayBuffer()).byteLength;
    expect(sizes[format], format).toBeGreaterThan(0);
  }
  return sizes;
}

describe("faults on the local stack", () => {
  let stack: LocalStack;
  let api: EdgeApi;

  beforeAll(async () => {
    stack = await startLocalStack({
      edgeVars: { ...FAST_RETRIES, TUS_PART_MIB: "5" },
      gpuEnv: { LOG_LEVEL: "warn" },
    });
    api = edgeApi(() => stack.edge.url, stack.apiKey);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("a) GPU service SIGKILLed mid-job and restarted: the job is redelivered and completes", async () => {
    const t0 = performance.now();
    // 2048×1536 frames (at the pipeline's 3.2 MP work size): a job of several seconds on CPU.
    const sample = await sampleCapture(2048, 0.0011);
    const created = await api.upload(sample.frames, sample.specs, { camera: sample.camera });
    expect((await api.finalize(created.id)).status).toBe(202);
    const seen: CaptureState[] = [];
    await api.waitFor(created.id, (s) => s.state === "processing", 30_000, seen);
    // The GPU service holds the job (frames fetched, pipeline running): crash it now.
    await waitForMetric(
      stack.gpu.url,
      stack.secrets.GPU_SERVICE_SECRET,
      "hybriddepth_jobs_in_flight",
      (s) => (s[""] ?? 0) >= 1,
      20_000,
    );
    const killedAt = performance.now();
    await stack.gpu.kill();
    const restarted = stack.restartGpu();
    const done = await api.settled(created.id, 55_000, seen);
    await restarted;
    console.log(
      `a) killed mid-job at ${secs(t0)} s; ${done.state} ${secs(killedAt)} s after the kill, ` +
        `attempts ${done.attempts}, states ${seen.join(" → ")}, error field ${JSON.stringify(done.error)}`,
    );
    expect(done.state, JSON.stringify(done.error)).toBe("done");
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    // Nothing lost: every frame still there with its digest, and the whole result served.
    expect(done.frames.map((f) => f.sha256)).toEqual(sample.frames.map((f) => sha256(f)));
    const sizes = await expectResultsServed(api, done);
    const json = (await (
      await api.fetch(`/v1/captures/${created.id}/depth?format=json`)
    ).json()) as { width: number; height: number };
    expect([json.width, json.height]).toEqual([2048, 1536]);
    expect(sizes.f32).toBe(2048 * 1536 * 4);
  }, 60_000);

  it("b) GPU service down for a while: the job waits, then completes exactly once", async () => {
    const t0 = performance.now();
    const sample = await sampleCapture(640, 0.0022);
    const created = await api.upload(sample.frames, sample.specs, { camera: sample.camera });
    await stack.gpu.stop();
    expect((await api.finalize(created.id)).status).toBe(202);
    const seen: CaptureState[] = [];
    const waiting = await api.waitFor(
      created.id,
      // Retries keep it processing (the state never goes back: docs/capture-state-machine.md).
      (s) => s.attempts >= 3 && s.state === "processing",
      25_000,
      seen,
    );
    expect(waiting.error?.code).toBe("retrying");
    const downFor = secs(t0);
    await stack.restartGpu();
    const done = await api.settled(created.id, 45_000, seen);
    console.log(
      `b) GPU down ${downFor} s (attempts ${waiting.attempts} by then); ${done.state} at ` +
        `${secs(t0)} s, attempts ${done.attempts}, states ${seen.join(" → ")}, error field ${JSON.stringify(done.error)}`,
    );
    expect(done.state, JSON.stringify(done.error)).toBe("done");
    const sizes = await expectResultsServed(api, done);
    // A repeat finalize changes nothing and enqueues nothing.
    const again = await api.finalize(created.id);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { state: string }).state).toBe("done");
    // No late duplicate delivery rewrites the capture or its result: it stays done, unchanged.
    await new Promise((r) => setTimeout(r, 3000));
    const later = await api.status(created.id);
    expect(later.state).toBe("done");
    expect(later.updatedAt).toBe(done.updatedAt);
    expect(await expectResultsServed(api, later)).toEqual(sizes);
    // The restarted GPU service ran exactly one job, successfully.
    const jobs = metricSamples(
      await gpuMetrics(stack.gpu.url, stack.secrets.GPU_SERVICE_SECRET),
      JOBS,
    );
    expect(jobs).toEqual({ '{outcome="done"}': 1 });
  }, 60_000);

  it("c) worker restarted mid tus PATCH: tus-js-client resumes at the offset the worker stored", async () => {
    const t0 = performance.now();
    const frame = randomBytes(20 * MIB);
    frame.set([0xff, 0xd8, 0xff, 0xe0]);
    const created = await api.create({
      version: 1,
      frames: [
        { file: "big.jpg", focusDistance: 1, bytes: frame.byteLength, contentType: "image/jpeg" },
        { file: "small.jpg", focusDistance: 2, bytes: 1000, contentType: "image/jpeg" },
      ],
    });
    // An 8 MiB/s uplink: a 4 MiB PATCH takes half a second, so the restart lands mid-body.
    let restart: Promise<unknown> | undefined;
    let forwardedAtStop = 0;
    let ackedBeforeRestart = 0;
    let acked = 0;
    const proxy = await startThrottleProxy(stack.edge.port, 8 * MIB, (forwarded) => {
      if (forwarded <= 6 * MIB || restart) return;
      restart = (async () => {
        await stack.edge.stop();
        forwardedAtStop = proxy.forwarded();
        ackedBeforeRestart = acked;
        await stack.restartEdge();
      })();
    });
    const patches: { offset: number; status?: number; after: boolean }[] = [];
    const heads: { offset: number }[] = [];
    let failure: unknown;
    try {
      await new Promise<void>((resolve, reject) => {
        new tus.Upload(frame, {
          endpoint: `${proxy.url}/v1/tus`,
          headers: api.auth(),
          metadata: { captureId: created.id, frameIndex: "0", filename: "big.jpg" },
          chunkSize: 4 * MIB,
          // About 25 s of retries: enough for wrangler dev to come back and the upload to resume.
          // 423 (upload_locked) is retried too, as tus-js-client does by default.
          retryDelays: [200, 500, 1000, 1000, 2000, 2000, 3000, 3000, 3000, 3000, 3000, 3000],
          storeFingerprintForResuming: false,
          onBeforeRequest(req) {
            if (req.getMethod() === "PATCH")
              patches.push({ offset: Number(req.getHeader("Upload-Offset")), after: !!restart });
          },
          onAfterResponse(req, res) {
            if (req.getMethod() === "PATCH") {
              patches[patches.length - 1]!.status = res.getStatus();
              if (res.getStatus() === 204)
                acked = Math.max(acked, Number(res.getHeader("Upload-Offset")));
            }
            if (req.getMethod() === "HEAD" && res.getStatus() === 200)
              heads.push({ offset: Number(res.getHeader("Upload-Offset")) });
          },
          onError: reject,
          onSuccess: () => resolve(),
        }).start();
      });
    } catch (e) {
      failure = e;
    } finally {
      await restart;
      await proxy.close();
    }
    const head = heads[0];
    console.log(
      `c) restart after ${(forwardedAtStop / MIB).toFixed(2)} MiB through the proxy ` +
        `(acked ${(ackedBeforeRestart / MIB).toFixed(2)} MiB); HEAD ${head ? (head.offset / MIB).toFixed(2) : "-"} MiB; ` +
        `PATCHes ${patches.map((p) => `${(p.offset / MIB).toFixed(2)}:${p.status ?? "cut"}`).join(" ")}; ` +
        `${failure ? `FAILED (${(failure as Error).message.split(",")[0]})` : "completed"} at ${secs(t0)} s`,
    );
    expect(restart, "the worker was restarted").toBeDefined();
    // A PATCH was cut by the restart: the client asked where to resume.
    expect(head, "a HEAD after the restart").toBeDefined();
    expect(head!.offset).toBeGreaterThanOrEqual(ackedBeforeRestart);
    // Never more than reached the worker before it stopped (the proxy's count, headers included).
    expect(head!.offset).toBeLessThanOrEqual(forwardedAtStop);
    expect(head!.offset).toBeLessThan(frame.byteLength);
    // The resume: tus retries while the worker answers 423 (the cut PATCH's write lease, which
    // must lapse soon: no other answer is acceptable), then continues exactly at the HEAD offset.
    const after = patches.filter((p) => p.after && p.status !== undefined);
    expect(
      after.filter((p) => p.status !== 204 && p.status !== 423).map((p) => p.status),
      "PATCH answers after the restart other than 204 and 423",
    ).toEqual([]);
    expect(failure, "tus-js-client gave up: still 423 when its retries ran out?").toBeUndefined();
    expect(new Set(heads.map((h) => h.offset)).size, "HEADs agree").toBe(1);
    expect(after.find((p) => p.status === 204)?.offset).toBe(head!.offset);
    const s = await api.status(created.id);
    expect(s.frames[0]).toMatchObject({
      uploaded: true,
      bytes: frame.byteLength,
      sha256: sha256(frame),
    });
  }, 60_000);
});

describe("a frame corrupted in storage after upload", () => {
  const secrets = {
    GPU_SERVICE_SECRET: randomBytes(24).toString("base64url"),
    UPLOAD_SIGNING_KEY: randomBytes(24).toString("base64url"),
    DEV_API_KEY: randomBytes(24).toString("base64url"),
  };
  let persistTo: string;
  let gpu: GpuService;
  let edge: EdgeWorker;
  let api: EdgeApi;

  beforeAll(async () => {
    // Our own persist dir (startLocalStack keeps its own private), to reach the R2 blob files.
    persistTo = await mkdtemp(join(tmpdir(), "hd-faults-"));
    const gpuPort = await freePort();
    [gpu, edge] = await Promise.all([
      startGpuService(
        { GPU_SERVICE_SECRET: secrets.GPU_SERVICE_SECRET, LOG_LEVEL: "warn" },
        { port: gpuPort },
      ),
      startEdgeWorker(
        { ...secrets, ...FAST_RETRIES, GPU_SERVICE_URL: `http://127.0.0.1:${gpuPort}` },
        { persistTo },
      ),
    ]);
    api = edgeApi(() => edge.url, secrets.DEV_API_KEY);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([edge?.stop(), gpu?.stop()]);
    if (persistTo) await rm(persistTo, { recursive: true, force: true });
  });

  it("d) the GPU service's sha256 check fails the job with frame_digest_mismatch; both keep serving", async () => {
    const t0 = performance.now();
    const sample = await sampleCapture(640, 0.0033);
    const created = await api.upload(sample.frames, sample.specs, { camera: sample.camera });
    const stored = await api.status(created.id);
    const digest = stored.frames[2]!.sha256!;
    expect(digest).toBe(sha256(sample.frames[2]!));
    const blob = await findR2Blob(persistTo, digest);
    expect(blob, "frame 2's bytes in the local R2 files").toBeDefined();
    // Bit rot in the middle of the JPEG (the magic bytes and the length stay as they were).
    const fh = await open(blob!, "r+");
    try {
      const at = Math.floor(sample.frames[2]!.byteLength / 2);
      const b = Buffer.alloc(16);
      await fh.read(b, 0, 16, at);
      for (let i = 0; i < b.length; i++) b[i]! ^= 0x5a;
      await fh.write(b, 0, 16, at);
    } finally {
      await fh.close();
    }
    expect(sha256(await readFile(blob!))).not.toBe(digest);

    expect((await api.finalize(created.id)).status).toBe(202);
    const failed = await api.settled(created.id, 30_000);
    console.log(
      `d) ${failed.state} (${failed.error?.code}: ${failed.error?.message}) at ${secs(t0)} s, attempts ${failed.attempts}`,
    );
    expect(failed.state).toBe("failed");
    expect(failed.error?.code).toBe("frame_digest_mismatch");
    expect(failed.error?.message).toContain("frame 2");
    expect(failed.attempts).toBe(1); // a definite answer, not retried
    const depth = await api.fetch(`/v1/captures/${created.id}/depth?format=json`);
    expect(depth.status).toBe(409);
    expect(await errorCode(depth)).toBe("result_not_ready");

    // No crash: both still answer, and a good capture goes through.
    expect((await fetch(`${edge.url}/v1/health`)).status).toBe(200);
    expect((await fetch(`${gpu.url}/v2/health/ready`)).status).toBe(200);
    const good = await sampleCapture(640, 0.0044);
    const next = await api.upload(good.frames, good.specs, { camera: good.camera });
    expect((await api.finalize(next.id)).status).toBe(202);
    const done = await api.settled(next.id, 30_000);
    console.log(`d) the next good capture: ${done.state} at ${secs(t0)} s`);
    expect(done.state, JSON.stringify(done.error)).toBe("done");
    await expectResultsServed(api, done);
    expect(edge.log()).not.toMatch(/unhandled/i);
    expect(gpu.log()).not.toMatch(/unhandled error|"level":60/);
  }, 60_000);
});
