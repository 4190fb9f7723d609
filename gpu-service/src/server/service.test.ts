import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRequest } from "#shared/auth/requestSignature.ts";
import { parseCapture } from "#shared/capture/parse.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { runPipeline } from "../pipeline/runPipeline.ts";
import { resolveModel, sha256File } from "../prior/modelStore.ts";
import { loadPrior } from "../prior/priorRunner.ts";
import { tempDir } from "../testing/fixtures.ts";
import { type FrameServer, startFrameServer } from "../testing/frameServer.ts";
import { signedFetch } from "../testing/signedFetch.ts";
import { loadConfig } from "./config.ts";
import { type Service, startService } from "./service.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const SAMPLE = join(ROOT, "samples", "redwood-00000");
const SECRET = "test-secret-0123456789abcdef";
const silent = { level: "silent" } as const;
// This file's own job-id ledger: ids of other runs' jobs never answer these.
const JOB_LEDGER_DIR = await tempDir("hybriddepth-jobs-test-");

let frames: FrameServer;
let service: Service;
let base: string;
let readyBeforeWarm: number;
const capture = parseCapture(JSON.parse(await readFile(join(SAMPLE, "capture.json"), "utf8")));

beforeAll(async () => {
  frames = await startFrameServer(SAMPLE);
  service = await startService(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      GPU_SERVICE_SECRET: SECRET,
      MAX_IN_FLIGHT: "1",
      MAX_QUEUE: "1",
      FETCH_TIMEOUT_MS: "400",
      FETCH_RETRIES: "1",
      FRAME_ORIGINS: frames.base,
      METRICS_TOKEN: "scrape-token-0123456789",
      LOG_LEVEL: "silent",
      JOB_LEDGER_DIR,
    }),
    (await import("pino")).default(silent),
  );
  base = `http://127.0.0.1:${service.port}`;
  readyBeforeWarm = (await fetch(`${base}/v2/health/ready`)).status;
  await service.warm;
});
afterAll(async () => {
  await service?.stop();
  await frames?.close();
});

let jobs = 0;
// Each job its own id: the service runs a job id once and answers a repeat from its ledger.
const job = (over: Record<string, unknown> = {}) => ({
  jobId: `job-${++jobs}`,
  capture,
  frames: capture.frames.map((f) => ({ url: `${frames.base}/frames/${f.file}` })),
  ...over,
});
const post = (body: unknown) =>
  signedFetch(base, SECRET, "/v1/fuse", {
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
const errorOf = async (r: Response) =>
  ((await r.json()) as { error: { code: string; message: string } }).error;

describe("GPU service: health and metadata", () => {
  it("is live at once and ready only after the models are warm", async () => {
    expect(readyBeforeWarm).toBe(503);
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
    expect(await (await fetch(`${base}/v2/health/ready`)).json()).toEqual({ ready: true });
  });

  it("describes the model and exposes Prometheus metrics (signed)", async () => {
    const meta = (await (await signedFetch(base, SECRET, "/v2/models/hybriddepth")).json()) as {
      name: string;
      prior: { model: string | null; sha256: string | null; provider: string | null };
    };
    expect(meta.name).toBe("hybriddepth");
    // The prior's identity names its weights: the sha256 of the file the session was built from.
    const model = await resolveModel();
    if (model) {
      expect(meta.prior.model).toBe(model.spec.name);
      expect(meta.prior.sha256).toBe(await sha256File(model.path));
    } else expect(meta.prior.sha256).toBeNull();
    const text = await (await signedFetch(base, SECRET, "/metrics")).text();
    for (const m of [
      "hybriddepth_queue_depth",
      "hybriddepth_jobs_in_flight",
      "hybriddepth_stage_seconds",
      "hybriddepth_prior_batch_size",
    ])
      expect(text).toContain(m);
    if (meta.prior.provider) expect(text).toMatch(/hybriddepth_execution_provider\{provider="cpu"/);
  });

  it("lets Prometheus scrape /metrics with the bearer METRICS_TOKEN, and nothing else unsigned", async () => {
    const scrape = (token?: string) =>
      fetch(`${base}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const ok = await scrape("scrape-token-0123456789");
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("hybriddepth_queue_depth");
    expect((await scrape("scrape-token-0123456780")).status).toBe(401);
    expect((await scrape()).status).toBe(401);
    const jobs = await fetch(`${base}/v1/fuse`, {
      method: "POST",
      headers: { authorization: "Bearer scrape-token-0123456789" },
      body: "{}",
    });
    expect(jobs.status).toBe(401);
  });
});

describe("GPU service: /v1/fuse", () => {
  it("fetches the frames, fuses, and answers what the embedded pipeline computes", async () => {
    const r = await post(
      job({ options: { stage: "full", outputs: ["depth", "confidence", "preview", "depth_png"] } }),
    );
    expect(r.status).toBe(200);
    const form = await r.formData();
    const result = JSON.parse(await (form.get("result") as Blob).text());
    const { width: w, height: h } = result;
    const depth = new Float32Array(await (form.get("depth") as Blob).arrayBuffer());
    expect(depth.length).toBe(w * h);
    expect((form.get("confidence") as Blob).size).toBe(w * h);
    expect((form.get("preview") as Blob).type).toBe("image/png");
    expect((form.get("depth_png") as Blob).size).toBeGreaterThan(1000);
    // The same capture through the embedded pipeline (the CLI's path) in this process.
    const model = await resolveModel();
    const local = await runPipeline(await loadCaptureDir(SAMPLE), {
      stage: "full",
      ...(model ? { prior: await loadPrior(model) } : {}),
    });
    expect(result.stage).toBe(local.result.stage);
    let maxDiff = 0;
    for (let i = 0; i < depth.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(depth[i]! - local.depth.data[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it("checks frame digests when given", async () => {
    const bytes = await readFile(join(SAMPLE, capture.frames[0]!.file));
    const good = createHash("sha256").update(bytes).digest("hex");
    const withSha = job({ options: { stage: "dff", outputs: [] } });
    (withSha.frames as { sha256?: string }[])[0]!.sha256 = good;
    expect((await post(withSha)).status).toBe(200);
    (withSha.frames as { sha256?: string }[])[0]!.sha256 = "0".repeat(64);
    const r = await post({ ...withSha, jobId: "digest-wrong" });
    expect(r.status).toBe(422);
    expect(await errorOf(r)).toMatchObject({ code: "frame_digest_mismatch" });
  });

  it.each([
    // The frame's server says it is not there: the job's fault, a 4xx, asked once.
    ["a missing frame", "/missing", 422, "frame_not_found"],
    ["a frame server that never answers", "/slow", 504, "frame_fetch_timeout"],
    ["a truncated frame", "/truncated", 502, "frame_fetch_failed"],
  ])("gives a clear error for %s", async (_, path, status, code) => {
    const j = job();
    (j.frames as { url: string }[])[2]!.url = `${frames.base}${path}?X-Signature=secret-token`;
    const r = await post(j);
    expect(r.status).toBe(status);
    const e = await errorOf(r);
    expect(e.code).toBe(code);
    expect(e.message).toContain("frame 2 (f02.jpg)");
    expect(e.message).not.toContain("secret-token");
    if (path === "/missing") expect(frames.hits.get("/missing")).toBe(1);
  });

  it("fetches nothing from an origin outside FRAME_ORIGINS, and tells nothing about it", async () => {
    const other = await startFrameServer(SAMPLE);
    try {
      const j = job();
      (j.frames as { url: string }[])[1]!.url = `${other.base}/frames/${capture.frames[1]!.file}`;
      const r = await post(j);
      expect(r.status).toBe(422);
      const e = await errorOf(r);
      expect(e.code).toBe("frame_origin_refused");
      expect(e.message).toContain("frame 1 (f01.jpg)");
      expect(e.message).not.toMatch(/HTTP|bytes|sha256/);
      expect([...other.hits.keys()]).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it.each([
    ["not JSON", () => "{", /not valid JSON/],
    [
      "a frame count that differs from the capture",
      () => JSON.stringify(job({ frames: [] })),
      /frames: one URL per capture frame/,
    ],
    ["a bad job id", () => JSON.stringify(job({ jobId: "../etc" })), /jobId/],
    [
      "a non-http frame URL",
      () =>
        JSON.stringify(job({ frames: capture.frames.map(() => ({ url: "file:///etc/passwd" })) })),
      /frame url must be http/,
    ],
  ])("refuses %s with 400", async (_, body, message) => {
    const r = await signedFetch(base, SECRET, "/v1/fuse", { body: body() });
    expect(r.status).toBe(400);
    const e = await errorOf(r);
    expect(e.code).toBe("invalid_argument");
    expect(e.message).toMatch(message);
  });

  it("refuses frames of a shape the pipeline cannot use (a 15 KB strip), with 422 and the reason", async () => {
    const strip = await sharp({
      create: { width: 4_000_000, height: 8, channels: 3, background: { r: 90, g: 90, b: 90 } },
    })
      .png()
      .toBuffer();
    const form = new FormData();
    const two = { ...capture, frames: capture.frames.slice(0, 2) };
    form.append("job", JSON.stringify({ jobId: "strip", capture: two, options: { stage: "dff" } }));
    for (const f of two.frames) form.append("frame", new Blob([strip]), f.file);
    const req = new Request(`${base}/v1/fuse/inline`, { method: "POST", body: form });
    const body = new Uint8Array(await req.arrayBuffer());
    const r = await signedFetch(base, SECRET, "/v1/fuse/inline", {
      body,
      headers: { "content-type": req.headers.get("content-type")! },
    });
    expect(r.status).toBe(422);
    const e = await errorOf(r);
    expect(e.code).toBe("frame_shape_unsupported");
    expect(e.message).toMatch(/4000000×8, an aspect ratio of 500000\.0:1; at most 4:1/);
  });

  it("answers 404 as JSON for unknown routes", async () => {
    const r = await signedFetch(base, SECRET, "/v1/nothing");
    expect(r.status).toBe(404);
    expect(await errorOf(r)).toMatchObject({ code: "not_found" });
  });

  it("sheds load beyond its queue with 503 and Retry-After, and finishes what it accepted", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        post(job({ jobId: `load-${k}`, options: { stage: "dff", outputs: [] } })),
      ),
    );
    const codes = answers.map((r) => r.status);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
    const refused = answers.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.headers.get("retry-after")).toBe("5");
      expect(await errorOf(r)).toMatchObject({ code: "overloaded" });
    }
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
  });
});

describe("GPU service: request signatures", () => {
  // Built when a test runs: the frame server starts in beforeAll.
  const body = () => JSON.stringify(job());
  const sign = (secret: string, over: { body?: string; contentType?: string; now?: number } = {}) =>
    signRequest(
      secret,
      {
        method: "POST",
        path: "/v1/fuse",
        contentType: over.contentType ?? "application/json",
        body: over.body ?? body(),
      },
      over.now,
    );
  const cases: [string, () => Promise<Record<string, string>>, RegExp][] = [
    ["missing", async () => ({}), /not signed/],
    ["forged", async () => ({ ...(await sign("another-secret-xxxxxxxx")) }), /does not match/],
    [
      "for another body",
      async () => ({ ...(await sign(SECRET, { body: "{}" })) }),
      /does not match/,
    ],
    [
      // The Content-Type says how to read the body (a multipart boundary): it is signed too.
      "for another Content-Type",
      async () => ({ ...(await sign(SECRET, { contentType: "text/plain" })) }),
      /does not match/,
    ],
    [
      "expired",
      async () => ({ ...(await sign(SECRET, { now: Date.now() - 6 * 60_000 })) }),
      /more than 60 s/,
    ],
    [
      // The replay window is one minute: two minutes old is too old.
      "two minutes old",
      async () => ({ ...(await sign(SECRET, { now: Date.now() - 2 * 60_000 })) }),
      /more than 60 s/,
    ],
    [
      "malformed",
      async () => ({ "x-hd-timestamp": "soon", "x-hd-signature": "v2=zz" }),
      /malformed/,
    ],
  ];
  for (const [name, headers, message] of cases) {
    it(`refuses a ${name} signature with 401`, async () => {
      const r = await fetch(`${base}/v1/fuse`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await headers()) },
        body: body(),
      });
      expect(r.status).toBe(401);
      expect(await errorOf(r)).toMatchObject({
        code: "unauthorized",
        message: expect.stringMatching(message),
      });
    });
  }

  it("refuses a replayed signature", async () => {
    const b = JSON.stringify(job({ jobId: "replay", options: { stage: "dff", outputs: [] } }));
    const contentType = "application/json";
    const headers = {
      "content-type": contentType,
      ...(await signRequest(SECRET, { method: "POST", path: "/v1/fuse", contentType, body: b })),
    };
    expect(
      (await fetch(`${base}/v1/fuse`, { method: "POST", headers: { ...headers }, body: b })).status,
    ).toBe(200);
    const again = await fetch(`${base}/v1/fuse`, {
      method: "POST",
      headers: { ...headers },
      body: b,
    });
    expect(again.status).toBe(401);
    expect(await errorOf(again)).toMatchObject({ message: expect.stringMatching(/replay/) });
  });
});

describe("GPU service process", () => {
  it("refuses to start without a secret outside dev mode", async () => {
    const r = await runService(
      { GPU_SERVICE_SECRET: "", HYBRIDDEPTH_DEV: "0" },
      async () => undefined,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GPU_SERVICE_SECRET is required/);
  });

  it("refuses to start, in one line, when JOB_LEDGER_DIR cannot be a directory", async () => {
    const file = join(JOB_LEDGER_DIR, "a-file");
    await writeFile(file, "");
    const r = await runService(
      { GPU_SERVICE_SECRET: SECRET, JOB_LEDGER_DIR: join(file, "jobs") },
      async () => undefined,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^gpu-service: JOB_LEDGER_DIR .*a-file\/jobs is not a writable directory \(ENOTDIR/,
    );
  });

  it("on SIGTERM finishes the job in flight, then exits 0", async () => {
    let answer: Response | undefined;
    const r = await runService({ GPU_SERVICE_SECRET: SECRET }, async (port, child) => {
      const b = JSON.stringify(
        job({ jobId: "drain", options: { stage: "full", outputs: ["depth"] } }),
      );
      const inFlight = signedFetch(`http://127.0.0.1:${port}`, SECRET, "/v1/fuse", { body: b });
      await new Promise((res) => setTimeout(res, 150));
      child.kill("SIGTERM");
      answer = await inFlight;
    });
    expect(answer?.status).toBe(200);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"msg":"draining"/);
  });
});

/** Runs `npm run gpu-service`'s entry on a free port; `during` runs once it is ready. */
function runService(
  env: Record<string, string>,
  during: (port: number, child: ReturnType<typeof spawn>) => Promise<unknown>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "bin", "gpu-service.mjs")], {
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        JOB_LEDGER_DIR,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let started = false;
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", async (d) => {
      stdout += d;
      const port = /"port":(\d+)/.exec(stdout)?.[1];
      if (!started && port && /"msg":"ready"/.test(stdout)) {
        started = true;
        during(Number(port), child).catch(reject);
      }
    });
    const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(kill);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
