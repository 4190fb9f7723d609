/**
 * Peak memory of the GPU service's own process with 2 jobs of the real 12 MP phone stack
 * (5 × 4080×3072 JPEG) in flight over loopback, frames fetched from a loopback file server: each
 * of 2 clients posts BENCH_MEMORY_WAVES jobs (default 3) one after another, so a job starts while
 * the other is mid-way, as under load; its VmHWM from the moment it is ready, a fresh service per
 * run. BENCH_MEMORY_RUNS runs (default 3) with the malloc-arena limit its container sets
 * (infra/gpu-service/entrypoint.sh) and with glibc's default, alternately: medians and their ratio. bench/memory.bench.ts measures the
 * embedded pipeline the same way.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startFrameServer } from "../gpu-service/src/testing/frameServer.ts";
import { signedFetch } from "../gpu-service/src/testing/signedFetch.ts";
import { startGpuService } from "../scripts/localStack.ts";
import { parseCapture } from "../shared/src/capture/parse.ts";
import { findGpuServicePid, peakRss, resetPeakRss } from "../test/helpers/load.ts";
import { hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";
import { type ArenaRun, compareArenas, reportArenas } from "./arenaComparison.ts";

const REAL = "focal-real/pixel6pro-desk";
const JOBS = 2;
const RUNS = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const WAVES = Number(process.env.BENCH_MEMORY_WAVES ?? 3);
const SECRET = "service-memory-bench-0123456789";
const MiB = 1024 * 1024;

if (!hasSharedData(REAL)) {
  console.log(`../shared/data/${REAL} not found: service memory bench skipped`);
  process.exit(0);
}
const dir = join(SHARED_DATA, REAL);
const capture = parseCapture(JSON.parse(await readFile(join(dir, "capture.json"), "utf8")));
const frames = await startFrameServer(dir);

let jobs = 0;
async function measure(arenas: string | undefined): Promise<ArenaRun> {
  // The service inherits this process's environment: glibc's default means no variable at all.
  delete process.env.MALLOC_ARENA_MAX;
  const gpu = await startGpuService({
    GPU_SERVICE_SECRET: SECRET,
    LOG_LEVEL: "warn",
    MAX_IN_FLIGHT: String(JOBS),
    FRAME_ORIGINS: frames.base,
    ...(arenas ? { MALLOC_ARENA_MAX: arenas } : {}),
  });
  try {
    const pid = await findGpuServicePid(gpu.port);
    const ready = await resetPeakRss(pid); // the peak from here
    const t = performance.now();
    await Promise.all(
      Array.from({ length: JOBS }, async () => {
        for (let k = 0; k < WAVES; k++) await post();
      }),
    );
    async function post(): Promise<void> {
      const body = JSON.stringify({
        jobId: `service-memory-${process.pid}-${++jobs}`,
        capture,
        frames: capture.frames.map((f) => ({ url: `${frames.base}/frames/${f.file}` })),
      });
      const r = await signedFetch(gpu.url, SECRET, "/v1/fuse", { body });
      const answer = await r.arrayBuffer();
      if (r.status !== 200)
        throw new Error(
          `job answered ${r.status}: ${Buffer.from(answer).toString().slice(0, 300)}`,
        );
    }
    return {
      peakMiB: (await peakRss(pid)) / MiB,
      baseMiB: ready / MiB,
      wallS: (performance.now() - t) / 1000,
    };
  } finally {
    await gpu.stop();
  }
}

const comparison = await compareArenas(RUNS, measure);
await frames.close();
console.log(
  `GPU service process, ${JOBS} clients posting ${WAVES} jobs each of the real 12 MP stack (${JOBS} in flight, loopback), peak RSS from ready, ${RUNS} runs each, alternating:`,
);
reportArenas(comparison, "when ready", `all ${JOBS * WAVES} jobs`);
process.exit(0);
