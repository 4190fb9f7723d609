/**
 * Peak memory of the real 12 MP phone stack (5 × 4080×3072 JPEG) through the embedded
 * pipeline (stage full, best prior found) with 2 jobs in flight at once. A peak RSS is a
 * process's high-water mark, so every measurement is a fresh process (its worker threads
 * included), run BENCH_MEMORY_RUNS times (default 3) under glibc's default malloc arenas and
 * under the service's limit (MALLOC_ARENA_MAX as infra/gpu-service/entrypoint.sh sets it),
 * alternately: medians, and the ratio between them.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";
import { type ArenaRun, compareArenas, reportArenas } from "./arenaComparison.ts";

const REAL = "focal-real/pixel6pro-desk";
const JOBS = Number(process.env.BENCH_JOBS ?? 2);
const RUNS = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const CHILD = "BENCH_MEMORY_CHILD";

interface Measured extends ArenaRun {
  work: string;
  prior: string;
}

if (!hasSharedData(REAL)) {
  console.log(`../shared/data/${REAL} not found: memory bench skipped`);
  process.exit(0);
}
if (process.env[CHILD]) {
  process.stdout.write(`${JSON.stringify(await measure())}\n`);
  process.exit(0);
}

const comparison = await compareArenas(RUNS, inChild);
const first = comparison.results[0]![0]!;
console.log(
  `real 12 MP stack, ${JOBS} jobs in flight (work size ${first.work}, ${first.prior}), peak RSS of a fresh process, ${RUNS} runs each, alternating:`,
);
reportArenas(comparison, "before the jobs (runtime, model, threads)");
process.exit(0);

function inChild(limit: string | undefined): Measured {
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: "1" };
  delete env.MALLOC_ARENA_MAX;
  if (limit) env.MALLOC_ARENA_MAX = limit;
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) throw new Error(`memory bench child exited with ${r.status}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Measured;
}

async function measure(): Promise<Measured> {
  const model = await resolveModel();
  const prior = model ? await loadPrior(model) : undefined;
  const source = await loadCaptureDir(join(SHARED_DATA, REAL));
  const before = process.resourceUsage().maxRSS;
  const t = performance.now();
  const outs = await Promise.all(
    Array.from({ length: JOBS }, () =>
      runPipeline(source, { stage: prior ? "full" : "dff", ...(prior ? { prior } : {}) }),
    ),
  );
  const { width, height } = outs[0]!.result;
  return {
    peakMiB: process.resourceUsage().maxRSS / 1024,
    baseMiB: before / 1024,
    wallS: (performance.now() - t) / 1000,
    work: `${width}×${height}`,
    prior: prior ? prior.name : "no prior",
  };
}
