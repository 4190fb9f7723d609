/**
 * Peak memory of the GPU service's own process with 2 jobs of the real 12 MP phone stack
 * (5 × 4080×3072 JPEG) posted at once over loopback, frames fetched from a loopback file server:
 * its VmHWM from the moment it is ready, a fresh service per run. BENCH_MEMORY_RUNS runs (default
 * 3) with the malloc-arena limit its container sets (infra/gpu-service/entrypoint.sh) and with
 * glibc's default, alternately: medians and their ratio. bench/memory.bench.ts measures the
 * embedded pipeline the same way.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startFrameServer } from "../gpu-service/src/testing/frameServer.ts";
import { signedFetch } from "../gpu-service/src/testing/signedFetch.ts";
import { startGpuService } from "../scripts/localStack.ts";
import { parseCapture } from "../shared/src/capture/parse.ts";
import { median } from "../shared/src/math/stats.ts";
import { findGpuServicePid } from "../test/helpers/load.ts";
import { hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";
import { serviceArenas } from "./serviceArenas.ts";

const REAL = "focal-real/pixel6pro-desk";
const JOBS = 2;
const RUNS = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const SECRET = "service-memory-bench-0123456789";
const MiB = 1024 * 1024;

if (!hasSharedData(REAL)) {
  console.log(`../shared/data/${REAL} not found: service memory bench skipped`);
  process.exit(0);
}
const dir = join(SHARED_DATA, REAL);
const capture = parseCapture(JSON.parse(await readFile(join(dir, "capture.json"), "utf8")));
const frames = await startFrameServer(dir);

/** VmHWM (peak RSS) and VmRSS of `pid`, bytes. */
async function memory(pid: number): Promise<{ peak: number; rss: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]);
  return { peak: kib("VmHWM") * 1024, rss: kib("VmRSS") * 1024 };
}

let jobs = 0;
async function measure(
  arenas: string | undefined,
): Promise<{ peak: number; ready: number; s: number }> {
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
    await writeFile(`/proc/${pid}/clear_refs`, "5"); // the peak from here (Linux ≥ 4.0)
    const ready = (await memory(pid)).rss;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: JOBS }, async () => {
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
      }),
    );
    return { peak: (await memory(pid)).peak, ready, s: (performance.now() - t) / 1000 };
  } finally {
    await gpu.stop();
  }
}

const arenas = serviceArenas();
const configs = [
  { label: "glibc default arenas", arenas: undefined },
  { label: `MALLOC_ARENA_MAX=${arenas} (container)`, arenas },
];
const results = configs.map(() => [] as Awaited<ReturnType<typeof measure>>[]);
for (let r = 0; r < RUNS; r++)
  for (const [c, config] of configs.entries()) results[c]!.push(await measure(config.arenas));
await frames.close();

console.log(
  `GPU service process, ${JOBS} jobs of the real 12 MP stack posted at once (loopback), peak RSS from ready, ${RUNS} runs each, alternating:`,
);
const peaks = results.map((runs) => median(runs.map((m) => m.peak / MiB)));
for (const [c, config] of configs.entries()) {
  const ps = results[c]!.map((m) => m.peak / MiB);
  console.log(
    `  ${config.label.padEnd(34)} median ${peaks[c]!.toFixed(0)} MiB (${Math.min(...ps).toFixed(0)}–${Math.max(...ps).toFixed(0)}), ${median(results[c]!.map((m) => m.ready / MiB)).toFixed(0)} MiB when ready, ${median(results[c]!.map((m) => m.s)).toFixed(1)} s for both jobs`,
  );
}
console.log(`  container ÷ glibc default: ${(peaks[1]! / peaks[0]!).toFixed(2)}`);
process.exit(0);
