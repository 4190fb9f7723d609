import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EdgeWorker,
  type LocalStack,
  startEdgeWorker,
  startLocalStack,
} from "../scripts/localStack.ts";
import {
  findGpuServicePid,
  gpuMetrics,
  percentile,
  type RssSample,
  rssBytes,
  sampleRss,
  withJpegComment,
} from "./helpers/load.ts";
import { BUNDLED_SAMPLE } from "./helpers/sharedData.ts";

// Concurrent clients through the real stack (wrangler dev + the GPU service on CPU) with a GPU
// admission gate of one running and one waiting job: the service must shed load (503
// overloaded), the queues must redeliver with backoff, and every capture must still end done,
// while the service's memory stays bounded. Numbers are printed, not asserted against the clock.
//
// Why three edge workers: one `wrangler dev` never sends the GPU service more than one job at a
// time. Its local queue (miniflare) dispatches the next batch only once the current one is
// handled, and consumeJobs handles a batch's messages one after another, so a single edge never
// exceeds a gate of 1 running + 1 waiting (measured: 0 shed with 6 clients, even with
// MAX_QUEUE 0). On Cloudflare the queue runs many consumer invocations at once; here three edge
// workers (own queues and state, same secrets) share the one GPU service to stand for that.
const CLIENTS = 6;
const CAPTURES_PER_CLIENT = 2;
const EDGES = 3;
const RETRY_VARS = { RETRY_BASE_SECONDS: "1", RETRY_MAX_SECONDS: "2" };
const POLL_MS = 500;
const CAPTURE_DEADLINE_MS = 150_000;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

interface Sample {
  meta: { focusUnit?: string; camera?: unknown; frames: { file: string; focusDistance: number }[] };
  frames: Uint8Array[];
}

interface Outcome {
  client: number;
  capture: number;
  id: string;
  state: string;
  error?: { code: string; message: string };
  cacheHit: boolean;
  attempts: number;
  /** create → done as the client saw it (polling every POLL_MS). */
  latencyMs: number;
  uploadMs: number;
  /** createdAt → updatedAt of the done record: the server's view, no polling granularity. */
  serverMs: number;
}

let stack: LocalStack;
/** stack.edge first, then the extra edge workers sharing its GPU service. */
let edges: EdgeWorker[] = [];
let sample: Sample;
let rateLimited = 0;

beforeAll(async () => {
  const meta = JSON.parse(
    await readFile(join(BUNDLED_SAMPLE, "capture.json"), "utf8"),
  ) as Sample["meta"];
  sample = {
    meta,
    frames: await Promise.all(meta.frames.map((f) => readFile(join(BUNDLED_SAMPLE, f.file)))),
  };
  stack = await startLocalStack({
    gpuEnv: { MAX_IN_FLIGHT: "1", MAX_QUEUE: "1" },
    edgeVars: RETRY_VARS,
  });
  const extra = await Promise.all(
    Array.from({ length: EDGES - 1 }, () =>
      startEdgeWorker({ ...stack.secrets, GPU_SERVICE_URL: stack.gpu.url, ...RETRY_VARS }),
    ),
  );
  edges = [stack.edge, ...extra];
}, 180_000);

afterAll(async () => {
  await Promise.all(edges.slice(1).map((e) => e.stop()));
  await stack?.stop();
});

/** An authenticated API call; a 429 from the per-key rate limit waits its Retry-After and retries. */
async function api(edge: EdgeWorker, path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const res = await fetch(edge.url + path, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${stack.apiKey}`,
      },
    });
    if (res.status !== 429) return res;
    rateLimited++;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
  }
}

/** One capture, the way a client app does it: create → PUT frames → finalize → poll until done. */
async function runCapture(
  edge: EdgeWorker,
  client: number,
  capture: number,
  frames: Uint8Array[],
): Promise<Outcome> {
  const t0 = performance.now();
  const created = await api(edge, "/v1/captures", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ...sample.meta,
      frames: sample.meta.frames.map((f, i) => ({
        ...f,
        bytes: frames[i]!.byteLength,
        contentType: "image/jpeg",
      })),
    }),
  });
  expect(created.status).toBe(201);
  const { id, uploads } = (await created.json()) as {
    id: string;
    uploads: { index: number; url: string; method: string; headers: Record<string, string> }[];
  };
  await Promise.all(
    uploads.map(async (u) => {
      const res = await fetch(u.url, {
        method: u.method,
        headers: u.headers,
        body: frames[u.index]! as Uint8Array<ArrayBuffer>,
      });
      expect(res.status, `PUT frame ${u.index}: ${await res.clone().text()}`).toBe(201);
      await res.body?.cancel();
    }),
  );
  const uploadMs = performance.now() - t0;
  const fin = await api(edge, `/v1/captures/${id}/finalize`, { method: "POST" });
  const finBody = (await fin.json()) as { cacheHit?: boolean };
  expect(fin.status, JSON.stringify(finBody)).toBe(202); // 200 would be a cache hit
  for (;;) {
    const c = (await (await api(edge, `/v1/captures/${id}`)).json()) as {
      state: string;
      attempts: number;
      cacheHit?: boolean;
      error?: { code: string; message: string };
      createdAt: string;
      updatedAt: string;
    };
    const finished = c.state === "done" || c.state === "failed";
    if (finished || performance.now() - t0 > CAPTURE_DEADLINE_MS) {
      return {
        client,
        capture,
        id,
        state: finished ? c.state : `stuck in ${c.state}`,
        ...(c.error ? { error: c.error } : {}),
        cacheHit: c.cacheHit === true || finBody.cacheHit === true,
        attempts: c.attempts,
        latencyMs: performance.now() - t0,
        uploadMs,
        serverMs: Date.parse(c.updatedAt) - Date.parse(c.createdAt),
      };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const fmtMs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (b: number) => `${Math.round(b / MIB)} MiB`;
const counter = (m: Map<string, number>, outcome: string) =>
  m.get(`hybriddepth_jobs_total{outcome="${outcome}"}`) ?? 0;

describe("load: concurrent clients against a GPU service that sheds", () => {
  it(`${CLIENTS} clients × ${CAPTURES_PER_CLIENT} captures all end done despite shedding; memory stays bounded`, async () => {
    const pid = await findGpuServicePid(stack.gpu.port);
    const rssAtStart = (await rssBytes(pid))!;
    // One capture first, alone: model arenas and caches allocate on the first job, and that
    // is not growth under load.
    const warm = await runCapture(stack.edge, -1, 0, sample.frames);
    expect(warm.state, JSON.stringify(warm.error)).toBe("done");
    const rssWarm = (await rssBytes(pid))!;
    const before = await gpuMetrics(stack.gpu.url, stack.secrets.GPU_SERVICE_SECRET);

    const sampler = sampleRss(pid, 250);
    const t0 = performance.now();
    const outcomes = (
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          const mine: Outcome[] = [];
          for (let capture = 0; capture < CAPTURES_PER_CLIENT; capture++) {
            // Same pixels, different bytes: each capture has its own content address.
            const frames = sample.frames.map((f, i) =>
              withJpegComment(
                f,
                `hybriddepth load test: client ${client} capture ${capture} frame ${i}`,
              ),
            );
            mine.push(await runCapture(edges[client % EDGES]!, client, capture, frames));
          }
          return mine;
        }),
      )
    ).flat();
    const wallMs = performance.now() - t0;
    const rss: RssSample[] = await sampler.stop();
    const after = await gpuMetrics(stack.gpu.url, stack.secrets.GPU_SERVICE_SECRET);

    const total = CLIENTS * CAPTURES_PER_CLIENT;
    const shed = counter(after, "overloaded") - counter(before, "overloaded");
    const gpuDone = counter(after, "done") - counter(before, "done");
    const retries = outcomes.reduce((n, o) => n + Math.max(0, o.attempts - 1), 0);
    const latencies = outcomes.map((o) => o.latencyMs);
    const server = outcomes.map((o) => o.serverMs);
    const uploads = outcomes.map((o) => o.uploadMs);
    const peak = Math.max(...rss.map((s) => s.bytes));
    const half = rss.length >> 1;
    const peakFirst = Math.max(...rss.slice(0, half).map((s) => s.bytes));
    const peakSecond = Math.max(...rss.slice(half).map((s) => s.bytes));
    const rssEnd = (await rssBytes(pid))!;
    const states = new Map<string, number>();
    for (const o of outcomes) states.set(o.state, (states.get(o.state) ?? 0) + 1);

    const rows: [string, string][] = [
      ["captures", `${total} (${CLIENTS} clients × ${CAPTURES_PER_CLIENT})`],
      ["wall time", fmtMs(wallMs)],
      ["throughput", `${((total / wallMs) * 1000).toFixed(3)} captures/s`],
      [
        "latency create→done (client, p50/p95/p99)",
        [0.5, 0.95, 0.99].map((q) => fmtMs(percentile(latencies, q))).join(" / "),
      ],
      [
        "latency createdAt→done (server, p50/p95/p99)",
        [0.5, 0.95, 0.99].map((q) => fmtMs(percentile(server, q))).join(" / "),
      ],
      ["upload (create + 5 PUTs), p50", fmtMs(percentile(uploads, 0.5))],
      ["GPU shed (jobs_total overloaded)", String(shed)],
      ["queue redeliveries (Σ attempts−1)", String(retries)],
      ["max attempts of one capture", String(Math.max(...outcomes.map((o) => o.attempts)))],
      ["GPU jobs done", String(gpuDone)],
      ["edge 429 rate-limited (waited)", String(rateLimited)],
      ["GPU RSS: start / after warm-up", `${fmtMiB(rssAtStart)} / ${fmtMiB(rssWarm)}`],
      [
        "GPU RSS under load: peak (1st half / 2nd half)",
        `${fmtMiB(peak)} (${fmtMiB(peakFirst)} / ${fmtMiB(peakSecond)})`,
      ],
      ["GPU RSS after load", `${fmtMiB(rssEnd)} (${rss.length} samples @250 ms)`],
      ["states", [...states].map(([k, n]) => `${k} ${n}`).join(", ")],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      `\nload test summary\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n")}\n`,
    );

    // No job lost: every capture done, none from the cache, each computed by the GPU service.
    const notDone = outcomes.filter((o) => o.state !== "done");
    expect(notDone, JSON.stringify(notDone, null, 1)).toEqual([]);
    expect(outcomes.filter((o) => o.cacheHit)).toEqual([]);
    expect(new Set(outcomes.map((o) => o.id)).size).toBe(total);
    expect(gpuDone).toBe(total);
    for (const o of outcomes) {
      const res = await api(edges[o.client % EDGES]!, `/v1/captures/${o.id}/depth?format=json`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ width: 640, height: 480, stage: "full" });
    }
    // The gate shed load, and each refusal was a redelivery by the queue, not a loss.
    expect(shed).toBeGreaterThanOrEqual(1);
    expect(retries, "every shed job is one redelivery, and nothing else was retried").toBe(shed);
    // Memory: bounded, and not climbing from the first half of the run to the second.
    expect(rss.length).toBeGreaterThan(10);
    expect(peak).toBeLessThan(3 * GIB);
    expect(peakSecond).toBeLessThan(peakFirst * 1.25 + 256 * MIB);
  });
});
