/**
 * Per-stage times of the embedded pipeline (stage full, with the best prior found), printed in
 * ms and as ratios against baselines measured in the same run:
 *  - 640×480 stacks of 5 and 10 frames synthesized from the bundled sample: what the pipeline
 *    adds to decoding and the prior (its total less the decode and less the prior's inference
 *    timed alone on the same image, after each run) against that inference, with the prior on
 *    every core (as the pipeline runs it) and again on one intra-op thread (onnxruntime's own
 *    default on a 2-core VM, the yardstick the ratio had before). A prior on its own thread that
 *    leaves cores free runs beside the frames and the lens fit: its span in the pipeline then
 *    overlaps theirs, so the stages' sum is no longer the fusion's cost, and the prior slowed by
 *    what runs beside it counts against the fusion;
 *  - the real 12 MP phone stack (../shared/data/focal-real/pixel6pro-desk): the whole pipeline
 *    against sharp decoding the same five JPEGs at full size to raw RGB, one after another;
 *  - the answer's parts (the defaults, then all) encoded from one run of it, against the same;
 *  - each row's CPU time (all threads) and the pipeline thread's busy time, a run: work removed
 *    shows there when the wall times of a shared VM cannot tell it;
 *  - thread scaling on that stack: every stage at 1, 2 and availableParallelism() threads (the
 *    pool and the prior's intra-op threads alike), with the machine's load average (other work on the machine takes cores from the pool).
 * Per-frame work overlaps across threads; each of decode, registration and dff is charged its
 * share of that phase's wall time, so the stages add up to the total.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { encodeParts } from "../gpu-service/src/service/executeJob.ts";
import {
  LARGE_APERTURE_LENS,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { median } from "../shared/src/math/stats.ts";
import { FuseOptionsSchema, OUTPUTS } from "../shared/src/service/fuseJob.ts";
import { BUNDLED_SAMPLE, hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const REPEATS_12MP = Number(process.env.BENCH_REPEATS_12MP ?? 3);
const WARMUPS = Number(process.env.BENCH_WARMUPS ?? 3);
const STAGES = [
  "decode",
  "registration",
  "dff",
  "prior",
  "alignment",
  "refinement",
  "total",
] as const;
/** What the pipeline adds to decoding the frames and to the prior's inference on its own. */
const fusionMs = (ms: Record<string, number>) => ms.total! - ms.decode! - ms.priorAlone!;

console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} on ${availableParallelism()} cores`,
);
// What fresh memory costs here: the first touch of a plane's pages against filling it again. On
// a VM that faults pages slowly, every freshly allocated plane is dear (README, Performance).
{
  const touch: number[] = [];
  const refill: number[] = [];
  for (let k = 0; k < 5; k++) {
    let t = performance.now();
    const p = new Float32Array(2040 * 1536).fill(1);
    touch.push(performance.now() - t);
    t = performance.now();
    p.fill(2);
    refill.push(performance.now() - t);
  }
  console.log(
    `fresh pages: one 12 MP-stack work plane (12.5 MB) takes ${median(touch).toFixed(1)} ms to fill fresh, ${median(refill).toFixed(1)} ms to fill again (medians of 5)`,
  );
}
const model = await resolveModel();
const prior = model ? await loadPrior(model) : undefined;
if (!prior) console.log("no prior model found: timing the dff stage only (npm run models:pull)");
const withPrior = {
  stage: prior ? ("full" as const) : ("dff" as const),
  ...(prior ? { prior } : {}),
};
// The prior on one intra-op thread, onnxruntime's own default on a 2-core VM (half the cores):
// the 640×480 rows are run with it too, so that fusion ÷ prior also reads as it did before the
// prior took every core (the prior is the ratio's yardstick, the fusion is ours).
const oneThreadPrior =
  model && availableParallelism() > 1 ? await loadPrior(model, undefined, 1) : undefined;

const pad = (s: string, n = 14) => s.padStart(n);
const line = (head: string, cells: string[]) =>
  console.log(`${head.padEnd(10)}${cells.map((c) => pad(c)).join("")}`);

type Source = Awaited<ReturnType<typeof loadCaptureDir>>;
type Medians = { ms: Record<string, number>; work: Work; baseline?: number };
type PriorUsed = typeof prior;

/**
 * Each stage's median over `repeats` runs, for each prior in `priors` (default: the pipeline's),
 * their runs alternating so that a variant is not favoured by running later (warmer) or on a
 * quieter stretch of a shared VM.
 */
async function stageMedians(
  source: Source,
  repeats: number,
  threads?: number,
  between?: () => Promise<number>,
  priors: PriorUsed[] = [prior],
): Promise<Medians[]> {
  const optsOf = (p: PriorUsed) => ({
    ...withPrior,
    ...(p ? { prior: p } : {}),
    ...(threads ? { threads } : {}),
  });
  // Warm-up: JIT (a few runs before V8 has optimized the per-pixel loops), sharp, the pool's
  // threads, the ONNX sessions. A GPU service runs warm; one warm-up left the 5-frame row with
  // half-optimized code (its fusion ÷ prior read 1.83 against 0.8–0.9 warm).
  for (let k = 0; k < WARMUPS; k++) for (const p of priors) await runPipeline(source, optsOf(p));
  const each = priors.map(() => ({
    runs: Object.fromEntries(STAGES.map((s) => [s, [] as number[]])),
    base: [] as number[],
    alone: [] as number[],
    cpu: [] as number[],
    busy: [] as number[],
  }));
  for (let k = 0; k < repeats; k++) {
    for (const [v, p] of priors.entries()) {
      const r = each[v]!;
      if (between) r.base.push(await between());
      const used = process.cpuUsage();
      const loop = performance.eventLoopUtilization();
      const { result, reference } = await runPipeline(source, optsOf(p));
      const { user, system } = process.cpuUsage(used);
      r.cpu.push((user + system) / 1000);
      r.busy.push(performance.eventLoopUtilization(loop).active);
      for (const s of STAGES) r.runs[s]!.push(result.timingsMs[s] ?? 0);
      if (p) {
        const t = performance.now();
        await p.infer(reference); // the image the pipeline's prior sees
        r.alone.push(performance.now() - t);
      }
    }
  }
  return each.map((r) => ({
    ms: {
      ...Object.fromEntries(STAGES.map((s) => [s, median(r.runs[s]!)])),
      ...(r.alone.length ? { priorAlone: median(r.alone) } : {}),
    },
    work: { cpuMs: median(r.cpu), busyMs: median(r.busy) },
    ...(r.base.length ? { baseline: median(r.base) } : {}),
  }));
}

/**
 * What a run costs besides its wall time, less moved by other work on a shared VM: the CPU time
 * of all the process's threads, and how long the pipeline's own thread was busy (its event
 * loop not idle: the serial part every job waits through).
 */
interface Work {
  cpuMs: number;
  busyMs: number;
}
const describeWork = ({ cpuMs, busyMs }: Work) =>
  `CPU ${cpuMs.toFixed(0)} ms (all threads), pipeline thread busy ${busyMs.toFixed(0)} ms`;

// --- 640×480 -----------------------------------------------------------------------------
const [rgb, depth] = await Promise.all([
  readFile(join(BUNDLED_SAMPLE, "f02.jpg")),
  readFile(join(BUNDLED_SAMPLE, "gt_depth.png")),
]);
type Row = { frames: number; ms: Record<string, number>; work: Work };
const rows: Row[] = [];
const oneThreadRows: Row[] = [];
for (const frames of [5, 10]) {
  const dir = await tempDir("hybriddepth-bench-");
  await synthesizeCapture(rgb, depth, dir, { lens: LARGE_APERTURE_LENS, frames });
  const source = await loadCaptureDir(dir);
  const priors = oneThreadPrior ? [prior, oneThreadPrior] : [prior];
  const [all, one] = await stageMedians(source, REPEATS, undefined, undefined, priors);
  rows.push({ frames, ...all! });
  if (one) oneThreadRows.push({ frames, ...one });
}
const table = (label: string, rs: Row[]) => {
  console.log(label);
  line("frames", [...STAGES, "prior alone"]);
  for (const r of rs)
    line(String(r.frames), [
      ...STAGES.map((s) => r.ms[s]!.toFixed(1)),
      r.ms.priorAlone?.toFixed(1) ?? "n/a",
    ]);
};
const priorName = prior ? `${prior.name} on ${prior.provider}` : "none";
table(
  `embedded pipeline, 640×480, prior ${priorName} (${availableParallelism()} intra-op threads), ${availableParallelism()} threads, median of ${REPEATS} runs (ms)`,
  rows,
);
if (oneThreadRows.length)
  table(
    "\nthe same with the prior on 1 intra-op thread (onnxruntime's default here; runs alternating with the rows above)",
    oneThreadRows,
  );
console.log("\nratios measured in the same run:");
line("frames", ["fusion/prior", "total/decode", "frame/decode", "fusion/prior¹", "total/total¹"]);
for (const [k, r] of rows.entries()) {
  const one = oneThreadRows[k];
  line(String(r.frames), [
    prior ? (fusionMs(r.ms) / r.ms.priorAlone!).toFixed(2) : "n/a",
    (r.ms.total! / r.ms.decode!).toFixed(2),
    (r.ms.total! / r.frames / r.ms.decode!).toFixed(2),
    one ? (fusionMs(one.ms) / one.ms.priorAlone!).toFixed(2) : "n/a",
    one ? (r.ms.total! / one.ms.total!).toFixed(2) : "n/a",
  ]);
}
console.log(
  "fusion = total − decode − the prior alone; ¹ the rows with the prior on 1 intra-op thread: their fusion ÷ their prior alone; this total ÷ theirs",
);
for (const r of rows) console.log(`${r.frames} frames, a run (median): ${describeWork(r.work)}`);
const [five, ten] = rows;
console.log(`\n10 frames / 5 frames, total: ${(ten!.ms.total! / five!.ms.total!).toFixed(2)}`);

// --- the real 12 MP stack ----------------------------------------------------------------
const REAL = "focal-real/pixel6pro-desk";
if (!hasSharedData(REAL)) {
  console.log(`\n../shared/data/${REAL} not found: 12 MP rows skipped`);
  process.exit(0);
}
const realDir = join(SHARED_DATA, REAL);
const real = await loadCaptureDir(realDir);
const files = real.capture.frames.map((f) => join(realDir, f.file));
/** The baseline: sharp decodes the five JPEGs at full size to raw RGB, one after another. */
async function fullDecode(): Promise<number> {
  const t = performance.now();
  for (const f of files)
    await sharp(await readFile(f))
      .raw()
      .toBuffer();
  return performance.now() - t;
}
await fullDecode(); // warm the page cache and sharp
const [big] = (await stageMedians(real, REPEATS_12MP, undefined, fullDecode)) as [Medians];
const meta = await sharp(files[0]).metadata();
console.log(
  `\nreal 12 MP stack (${real.capture.frames.length} × ${meta.width}×${meta.height} JPEG), ${availableParallelism()} threads, median of ${REPEATS_12MP} runs (ms)`,
);
line("", [...STAGES, "baseline"]);
line("12 MP", [...STAGES.map((s) => big.ms[s]!.toFixed(0)), big.baseline!.toFixed(0)]);
console.log(
  `total ÷ baseline (sharp decoding the ${files.length} JPEGs at full size, one after another, same run): ${(big.ms.total! / big.baseline!).toFixed(2)}`,
);
console.log(`a run (median): ${describeWork(big.work)}`);

// What the service does after the pipeline: the answer's parts, the defaults and all of them.
const last = await runPipeline(real, withPrior);
const defaults = FuseOptionsSchema.parse({}).outputs;
const partSets = [
  { label: `the defaults (${defaults.join(", ")})`, outputs: defaults },
  { label: "every part", outputs: OUTPUTS },
];
console.log(
  `\nthe answer's parts encoded from that run (median of ${REPEATS_12MP}; ÷ the same baseline)`,
);
for (const { label, outputs } of partSets) {
  const ms: number[] = [];
  for (let k = 0; k < REPEATS_12MP; k++) {
    const t = performance.now();
    await encodeParts(last, outputs);
    ms.push(performance.now() - t);
  }
  console.log(
    `  ${label.padEnd(44)} ${median(ms).toFixed(0).padStart(6)} ms  ${(median(ms) / big.baseline!).toFixed(2)}`,
  );
}

const threadCounts = [...new Set([1, 2, availableParallelism()])];
const scaling: { threads: number; ms: Record<string, number>; work: Work; frames: number }[] = [];
for (const threads of threadCounts) {
  // The prior on as many intra-op threads as the pool has: a row is the process on that many.
  const threadPrior = model ? await loadPrior(model, undefined, threads) : undefined;
  const [{ ms, work }] = (await stageMedians(real, REPEATS_12MP, threads, undefined, [
    threadPrior,
  ])) as [Medians];
  scaling.push({ threads, ms, work, frames: ms.decode! + ms.registration! + ms.dff! });
}
console.log(
  `\nthread scaling on the 12 MP stack (HYBRIDDEPTH_THREADS: the pool and the prior's intra-op threads; median of ${REPEATS_12MP}; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} on ${availableParallelism()} cores: the machine may be shared)`,
);
line("threads", [...STAGES, "speed-up", "frames ms", "speed-up"]);
const one = scaling[0]!;
for (const s of scaling)
  line(String(s.threads), [
    ...STAGES.map((k) => s.ms[k]!.toFixed(0)),
    (one.ms.total! / s.ms.total!).toFixed(2),
    s.frames.toFixed(0),
    (one.frames / s.frames).toFixed(2),
  ]);
for (const s of scaling)
  console.log(`${s.threads} threads, a run (median): ${describeWork(s.work)}`);
console.log(
  "frames = decode + registration + dff (per-frame work, then the DFF fit in row bands); refinement's guided filters run in row bands too",
);
process.exit(0);
