/**
 * `npm run bench:service`: the GPU service on loopback under 1, 4 and 8 concurrent clients,
 * with dynamic batching of the prior off (MAX_BATCH=1) and on (MAX_BATCH=4). Each client sends
 * the bundled sample inline (stage full) back to back. Prints throughput and p50/p95 latency,
 * and ratios against one client without batching measured in the same run.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../gpu-service/src/server/config.ts";
import { startService } from "../gpu-service/src/server/service.ts";
import { signRequest } from "../shared/src/auth/requestSignature.ts";
import { parseCapture } from "../shared/src/capture/parse.ts";
import { median, quantile } from "../shared/src/math/stats.ts";
import { BUNDLED_SAMPLE } from "../test/helpers/sharedData.ts";

const SECRET = "bench-secret-0123456789";
const JOBS_PER_CLIENT = Number(process.env.BENCH_JOBS ?? 3);
const capture = parseCapture(
  JSON.parse(await readFile(join(BUNDLED_SAMPLE, "capture.json"), "utf8")),
);
const frames = await Promise.all(capture.frames.map((f) => readFile(join(BUNDLED_SAMPLE, f.file))));

async function oneJob(base: string, id: string): Promise<number> {
  const form = new FormData();
  form.append(
    "job",
    JSON.stringify({ jobId: id, capture, options: { stage: "full", outputs: ["depth"] } }),
  );
  for (const [i, f] of frames.entries())
    form.append("frame", new Blob([f]), capture.frames[i]!.file);
  const req = new Request(`${base}/v1/fuse/inline`, { method: "POST", body: form });
  const body = new Uint8Array(await req.arrayBuffer());
  const contentType = req.headers.get("content-type")!;
  const t = performance.now();
  const res = await fetch(req.url, {
    method: "POST",
    body,
    headers: {
      "content-type": contentType,
      ...(await signRequest(SECRET, {
        method: "POST",
        path: "/v1/fuse/inline",
        contentType,
        body,
      })),
    },
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`job ${id}: HTTP ${res.status}`);
  return performance.now() - t;
}

const rows: { batch: number; clients: number; throughput: number; p50: number; p95: number }[] = [];
for (const batch of [1, 4]) {
  const service = await startService(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      GPU_SERVICE_SECRET: SECRET,
      MAX_BATCH: String(batch),
      MAX_QUEUE_DELAY_MS: "10",
      MAX_IN_FLIGHT: "8",
      MAX_QUEUE: "16",
      LOG_LEVEL: "silent",
    }),
    pino({ level: "silent" }),
  );
  await service.warm;
  const base = `http://127.0.0.1:${service.port}`;
  await oneJob(base, "warm-up");
  for (const clients of [1, 4, 8]) {
    const latencies: number[] = [];
    const t = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let k = 0; k < JOBS_PER_CLIENT; k++)
          latencies.push(await oneJob(base, `b${batch}-c${c}-${k}`));
      }),
    );
    const seconds = (performance.now() - t) / 1000;
    rows.push({
      batch,
      clients,
      throughput: latencies.length / seconds,
      p50: median(latencies),
      p95: quantile(latencies, 0.95),
    });
  }
  console.log(
    `prior: ${service.state.model ?? "none"} on ${service.state.provider ?? "-"}, MAX_BATCH=${batch} done`,
  );
  await service.stop();
}

const baseRow = rows[0]!;
const pad = (s: string, n = 12) => s.padStart(n);
console.log(
  `\nGPU service, 640×480 5-frame capture, stage full, ${JOBS_PER_CLIENT} jobs per client`,
);
console.log(
  ["batch", "clients", "jobs/s", "p50 ms", "p95 ms", "jobs/s ÷ base", "p50 ÷ base", "p95 ÷ base"]
    .map((h) => pad(h))
    .join(""),
);
for (const r of rows) {
  console.log(
    [
      String(r.batch),
      String(r.clients),
      r.throughput.toFixed(2),
      r.p50.toFixed(0),
      r.p95.toFixed(0),
      (r.throughput / baseRow.throughput).toFixed(2),
      (r.p50 / baseRow.p50).toFixed(2),
      (r.p95 / baseRow.p95).toFixed(2),
    ]
      .map((c) => pad(c))
      .join(""),
  );
}
