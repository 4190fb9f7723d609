/**
 * The GPU service under abuse, as a real process on loopback: what one client can make it hold
 * in memory or compute. Memory is the process's peak RSS (VmHWM, reset through clear_refs just
 * before each attack) against a bound well below what the attack would cost if buffered.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GpuService, startGpuService } from "../../../scripts/localStack.ts";
import {
  findGpuServicePid,
  gpuMetrics,
  peakRss,
  resetPeakRss,
} from "../../../test/helpers/load.ts";
import { signedFetch } from "../testing/signedFetch.ts";

const SECRET = "limits-test-secret-0123456789";
const MiB = 1024 * 1024;

/** POSTs `body`; the status, or "reset" when the server closed before the client sent it all. */
async function post(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  try {
    const r = await fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
    return { status: r.status, error: ((await r.json()) as { error: { code: string } }).error };
  } catch {
    return { status: "reset" as const, error: undefined };
  }
}

/** CPU seconds the process has used (all its threads), from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ ticks
}

const FRAME_BYTES = 64 * MiB;
const BUDGET = 160 * MiB; // two frames' reservations (MAX_FRAME_BYTES 80 MiB each)

let gpu: GpuService;
let pid: number;
let frames: Server;
let framesBase: string;
const hits: string[] = [];

beforeAll(async () => {
  // 64 MiB that are no image behind a PNG signature (so the decoder gives up at once): a job
  // fails on the first frame it decodes.
  const junk = Buffer.alloc(FRAME_BYTES, 0x5a);
  junk.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  frames = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "content-length": junk.length, "content-type": "image/jpeg" }).end(junk);
  });
  await new Promise<void>((r) => frames.listen(0, "127.0.0.1", r));
  framesBase = `http://127.0.0.1:${(frames.address() as AddressInfo).port}`;
  gpu = await startGpuService({
    GPU_SERVICE_SECRET: SECRET,
    LOG_LEVEL: "warn",
    MAX_IN_FLIGHT: "1",
    MAX_QUEUE: "4",
    JOB_TIMEOUT_MS: "2500",
    MAX_FRAME_BYTES: String(80 * MiB),
    FRAME_BUDGET_BYTES: String(BUDGET),
  });
  pid = await findGpuServicePid(gpu.port);
}, 120_000);
afterAll(async () => {
  await gpu?.stop();
  frames?.closeAllConnections();
  await new Promise((r) => frames?.close(r));
});

describe("GPU service memory under unauthenticated bodies", () => {
  it("refuses unsigned bodies on their headers, before reading them", async () => {
    const big = new Uint8Array(100 * MiB).fill(7);
    const base = await resetPeakRss(pid);
    const answers = await Promise.all([
      // No signature headers at all, three at once.
      ...[0, 1, 2].map(() =>
        post(`${gpu.url}/v1/fuse/inline`, big, {
          "content-type": "multipart/form-data; boundary=x",
        }),
      ),
      // Well-formed fresh headers with a made-up MAC, on the JSON route: over its small limit.
      post(`${gpu.url}/v1/fuse`, big, {
        "content-type": "application/json",
        "x-hd-timestamp": String(Math.floor(Date.now() / 1000)),
        "x-hd-signature": `v2=${"0".repeat(64)}`,
      }),
    ]);
    const grew = (await peakRss(pid)) - base;
    for (const a of answers.slice(0, 3)) {
      if (a.status !== "reset") {
        expect(a.status).toBe(401);
        expect(a.error?.code).toBe("unauthorized");
      }
    }
    if (answers[3]!.status !== "reset") expect(answers[3]!.error?.code).toBe("payload_too_large");
    // 400 MiB were sent; buffering them would have grown the peak by at least that much.
    expect(grew, `peak RSS grew by ${(grew / MiB).toFixed(0)} MiB`).toBeLessThan(48 * MiB);
  });
});

describe("GPU service memory under signed jobs with large frames", () => {
  it("admits a job before fetching its frames, and holds frames within the byte budget", async () => {
    hits.length = 0;
    const capture = {
      version: 1,
      frames: [0.5, 1, 2].map((d, i) => ({ file: `f${i}.jpg`, focusDistance: d })),
    };
    const job = (k: number) => ({
      jobId: `big-${k}`,
      capture,
      frames: capture.frames.map((_, i) => ({ url: `${framesBase}/big/${k}/${i}` })),
      options: { stage: "dff", outputs: [] },
    });
    const base = await resetPeakRss(pid);
    // Three jobs of three 64 MiB frames at once: 576 MiB if they were all fetched up front.
    const answers = await Promise.all(
      [0, 1, 2].map((k) =>
        signedFetch(gpu.url, SECRET, "/v1/fuse", { body: JSON.stringify(job(k)) }),
      ),
    );
    const grew = (await peakRss(pid)) - base;
    for (const r of answers) {
      expect(r.status).toBe(422);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("frame_unreadable");
    }
    // Each job stopped at its first frame: at most that one and the one fetched ahead.
    expect(hits.length, hits.join(" ")).toBeLessThanOrEqual(6);
    // Budget plus transport/decoder overhead (measured 285 MiB); fetched whole and up front, as
    // before, the nine frames are 576 MiB held twice (about 1.1 GiB).
    expect(grew, `peak RSS grew by ${(grew / MiB).toFixed(0)} MiB`).toBeLessThan(
      BUDGET + 192 * MiB,
    );
    const m = await gpuMetrics(gpu.url, SECRET);
    expect(m.get("hybriddepth_frame_budget_bytes")).toBe(BUDGET);
    expect(m.get("hybriddepth_frame_bytes_reserved")).toBe(0);
  });
});

describe("GPU service timeouts", () => {
  it("stops a timed-out job: 504, then no more work on it, and still ready", async () => {
    // 48 frames of 24 MP in one colour: a few KB each, far more than the 2.5 s limit of decoding
    // and resampling even with every core on it (24 of them took about 3.5 s on 2 cores).
    const frame = await sharp({
      create: { width: 6000, height: 4000, channels: 3, background: { r: 120, g: 90, b: 60 } },
    })
      .png()
      .toBuffer();
    const capture = {
      version: 1,
      frames: Array.from({ length: 48 }, (_, i) => ({
        file: `f${i}.png`,
        focusDistance: 0.3 + i / 8,
      })),
    };
    const form = new FormData();
    form.append("job", JSON.stringify({ jobId: "slow", capture, options: { stage: "dff" } }));
    for (const f of capture.frames) form.append("frame", new Blob([frame]), f.file);
    const req = new Request(`${gpu.url}/v1/fuse/inline`, { method: "POST", body: form });
    const body = new Uint8Array(await req.arrayBuffer());
    const r = await signedFetch(gpu.url, SECRET, "/v1/fuse/inline", {
      body,
      headers: { "content-type": req.headers.get("content-type")! },
    });
    expect(r.status).toBe(504);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("job_timeout");
    // Answered once the job has stopped: from here on the process is idle.
    await new Promise((res) => setTimeout(res, 300));
    const before = await cpuSeconds(pid);
    await new Promise((res) => setTimeout(res, 2000));
    const used = (await cpuSeconds(pid)) - before;
    expect(used, `${used.toFixed(2)} CPU s in the 2 s after the timeout`).toBeLessThan(0.4);
    expect((await fetch(`${gpu.url}/v2/health/ready`)).status).toBe(200);
    const m = await gpuMetrics(gpu.url, SECRET);
    expect(m.get("hybriddepth_jobs_in_flight")).toBe(0);
  });
});
