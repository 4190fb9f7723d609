/**
 * /v1/fuse is idempotent by job id, on the real service process over loopback: a job id runs the
 * pipeline once — a concurrent duplicate joins it, a replay (even of the very same signed request,
 * after a restart on the same JOB_LEDGER_DIR) gets the stored answer — and a new job id runs.
 * Runs are counted twice: the pipeline's done counter in /metrics and the frames served.
 */
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRequest } from "#shared/auth/requestSignature.ts";
import { type GpuService, startGpuService } from "../../../scripts/localStack.ts";
import { parsePrometheus } from "../../../test/helpers/load.ts";
import { type FrameServer, startFrameServer } from "../testing/frameServer.ts";
import { signedFetch } from "../testing/signedFetch.ts";

const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");
const SECRET = "idempotency-test-secret-0123456789";
const capture = JSON.parse(await readFile(join(SAMPLE, "capture.json"), "utf8")) as {
  frames: { file: string }[];
};

let frames: FrameServer;
let dir: string;
let gpu: GpuService;
const start = (env: Record<string, string> = {}) =>
  startGpuService({
    GPU_SERVICE_SECRET: SECRET,
    LOG_LEVEL: "warn",
    FRAME_ORIGINS: frames.base,
    JOB_LEDGER_DIR: dir,
    ...env,
  });

beforeAll(async () => {
  frames = await startFrameServer(SAMPLE);
  dir = await mkdtemp(join(tmpdir(), "hybriddepth-jobs-idem-"));
  gpu = await start();
}, 120_000);
afterAll(async () => {
  await gpu?.stop();
  await frames?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const job = (
  jobId: string,
  options: unknown = { stage: "dff", outputs: ["depth"] },
  path = (file: string) => `/frames/${file}`,
) =>
  JSON.stringify({
    jobId,
    capture,
    frames: capture.frames.map((f) => ({ url: frames.base + path(f.file) })),
    options,
  });
/** Frames served so far: each pipeline run fetches every frame once. */
const served = () =>
  [...frames.hits].filter(([p]) => p.startsWith("/frames/")).reduce((n, [, k]) => n + k, 0);
let scrapes = 0;
const counters = async (service: GpuService) => {
  // A nonce per scrape: two in one second would otherwise carry the same (replayed) signature.
  const res = await signedFetch(service.url, SECRET, `/metrics?n=${++scrapes}`);
  expect(res.status).toBe(200);
  const m = parsePrometheus(await res.text());
  const get = (name: string) => m.get(name) ?? 0;
  return {
    runs: get('hybriddepth_jobs_total{outcome="done"}'),
    joined: get('hybriddepth_job_ids_total{outcome="joined"}'),
    stored: get('hybriddepth_job_ids_total{outcome="stored"}'),
  };
};
/** The same job re-signed (as the edge's retry does): `?attempt=` keeps the signatures apart. */
const send = (service: GpuService, body: string, attempt: number) =>
  signedFetch(service.url, SECRET, `/v1/fuse?attempt=${attempt}`, { body });
const depthOf = async (r: Response) =>
  new Uint8Array(await ((await r.formData()).get("depth") as Blob).arrayBuffer());

describe("GPU service: /v1/fuse runs a job id once", () => {
  it("a concurrent duplicate joins the running job: one pipeline run, one answer", async () => {
    const before = { ...(await counters(gpu)), served: served() };
    const body = job("dup");
    const [a, b] = await Promise.all([send(gpu, body, 1), send(gpu, body, 2)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await depthOf(a)).toEqual(await depthOf(b));
    const after = await counters(gpu);
    expect(after.runs - before.runs).toBe(1);
    expect(after.joined - before.joined).toBe(1);
    expect(served() - before.served).toBe(capture.frames.length);
  });

  it("a replayed signed request after a restart on the same ledger gets the stored answer", async () => {
    const body = job("replayed");
    const contentType = "application/json";
    const headers = {
      "content-type": contentType,
      // Dated 50 s ahead (within the skew): the replay stays fresh through a slow restart.
      ...(await signRequest(
        SECRET,
        { method: "POST", path: "/v1/fuse", contentType, body },
        Date.now() + 50_000,
      )),
    };
    const replay = (service: GpuService) =>
      fetch(`${service.url}/v1/fuse`, { method: "POST", headers, body });
    const first = await replay(gpu);
    expect(first.status).toBe(200);
    const depth = await depthOf(first);
    const servedBefore = served();
    // A new process: the per-process replay guard has forgotten the signature, the ledger has not.
    await gpu.stop();
    gpu = await start();
    const again = await replay(gpu);
    expect(again.status).toBe(200);
    expect(await depthOf(again)).toEqual(depth);
    // Re-signed, as the edge retries: the same stored answer.
    expect(await depthOf(await send(gpu, body, 3))).toEqual(depth);
    expect(served()).toBe(servedBefore);
    expect(await counters(gpu)).toMatchObject({ runs: 0, stored: 2 });
  }, 120_000);

  it("a different job id runs; different work under a known job id is a conflict", async () => {
    const before = { ...(await counters(gpu)), served: served() };
    expect((await send(gpu, job("other"), 1)).status).toBe(200);
    const after = await counters(gpu);
    expect(after.runs - before.runs).toBe(1);
    expect(served() - before.served).toBe(capture.frames.length);
    const r = await send(gpu, job("replayed", { stage: "dff", outputs: [] }), 4);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("job_id_conflict");
    expect((await counters(gpu)).runs).toBe(after.runs);
  });

  it("a job running in another process sharing the ledger is not run twice; a dead one's is taken over", async () => {
    // A second replica on the same directory, quick to give up on a frame that never comes.
    const other = await start({ FETCH_TIMEOUT_MS: "1000", FETCH_RETRIES: "0" });
    try {
      // Every frame from the server's /slow, which never answers: the job stays running in `gpu`.
      const body = job("shared", undefined, () => "/slow");
      const inFirst = send(gpu, body, 1).catch(() => undefined);
      for (let t = Date.now(); ; ) {
        if (
          await access(join(dir, "shared.json")).then(
            () => true,
            () => false,
          )
        )
          break;
        if (Date.now() - t > 30_000) throw new Error("the job never reached the ledger");
        await new Promise((r) => setTimeout(r, 50));
      }
      const busy = await send(other, body, 2);
      expect(busy.status).toBe(503);
      expect(busy.headers.get("retry-after")).toBe("5");
      expect(((await busy.json()) as { error: { code: string } }).error.code).toBe(
        "job_in_progress",
      );
      const slowBefore = frames.hits.get("/slow") ?? 0;
      // The first process dies mid-job: its entry goes stale, and the job runs in the other.
      await gpu.kill();
      await inFirst;
      let r: Response;
      for (let attempt = 3; ; attempt++) {
        r = await send(other, body, attempt);
        if (r.status !== 503) break;
        await r.body?.cancel();
        await new Promise((res) => setTimeout(res, 1000));
      }
      expect(r.status).toBe(504);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
        "frame_fetch_timeout",
      );
      expect(frames.hits.get("/slow") ?? 0).toBeGreaterThan(slowBefore);
    } finally {
      await other.stop();
    }
  }, 120_000);
});
