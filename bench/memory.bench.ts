/**
 * Peak memory of the real 12 MP phone stack (5 × 4080×3072 JPEG) through the embedded
 * pipeline (stage full, best prior found) with 2 jobs in flight at once, in this fresh process
 * (its worker threads included): the resident-set high-water mark before and after.
 */
import { join } from "node:path";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";

const REAL = "focal-real/pixel6pro-desk";
const JOBS = Number(process.env.BENCH_JOBS ?? 2);
if (!hasSharedData(REAL)) {
  console.log(`../shared/data/${REAL} not found: memory bench skipped`);
  process.exit(0);
}
const model = await resolveModel();
const prior = model ? await loadPrior(model) : undefined;
const source = await loadCaptureDir(join(SHARED_DATA, REAL));
const mib = (kib: number) => (kib / 1024).toFixed(0);
const before = process.resourceUsage().maxRSS;
const t = performance.now();
const outs = await Promise.all(
  Array.from({ length: JOBS }, () =>
    runPipeline(source, { stage: prior ? "full" : "dff", ...(prior ? { prior } : {}) }),
  ),
);
const wall = performance.now() - t;
const peak = process.resourceUsage().maxRSS;
const { width, height } = outs[0]!.result;
console.log(
  `real 12 MP stack, ${JOBS} jobs in flight (work size ${width}×${height}, ${prior ? prior.name : "no prior"}): peak RSS ${mib(peak)} MiB (${mib(before)} MiB before the jobs: runtime, model, threads), ${(wall / 1000).toFixed(1)} s for both`,
);
process.exit(0);
