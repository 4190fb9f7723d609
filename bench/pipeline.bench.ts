/**
 * Per-stage times of the embedded pipeline (stage full, with the best prior found) on 640×480
 * stacks of 5 and 10 frames synthesized from the bundled sample. Figures are medians of several
 * runs, printed in ms and as ratios against baselines measured in the same run: the fusion
 * stages (registration, DFF, alignment, refinement) against the prior's inference, and every
 * stage against decoding.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import {
  LARGE_APERTURE_LENS,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { median } from "../shared/src/math/stats.ts";
import { BUNDLED_SAMPLE } from "../test/helpers/sharedData.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const STAGES = [
  "decode",
  "registration",
  "dff",
  "prior",
  "alignment",
  "refinement",
  "total",
] as const;
const FUSION = ["registration", "dff", "alignment", "refinement"] as const;

const model = await resolveModel();
const prior = model ? await loadPrior(model) : undefined;
if (!prior) console.log("no prior model found: timing the dff stage only (npm run models:pull)");
const [rgb, depth] = await Promise.all([
  readFile(join(BUNDLED_SAMPLE, "f02.jpg")),
  readFile(join(BUNDLED_SAMPLE, "gt_depth.png")),
]);
const rows: { frames: number; ms: Record<string, number> }[] = [];
for (const frames of [5, 10]) {
  const dir = await tempDir("hybriddepth-bench-");
  await synthesizeCapture(rgb, depth, dir, { lens: LARGE_APERTURE_LENS, frames });
  const source = await loadCaptureDir(dir);
  const run = () =>
    runPipeline(source, { stage: prior ? "full" : "dff", ...(prior ? { prior } : {}) });
  await run(); // warm-up: JIT, sharp's thread pool, the ONNX session
  const runs: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
  for (let k = 0; k < REPEATS; k++) {
    const { result } = await run();
    for (const s of STAGES) runs[s]!.push(result.timingsMs[s] ?? 0);
  }
  rows.push({ frames, ms: Object.fromEntries(STAGES.map((s) => [s, median(runs[s]!)])) });
}

const pad = (s: string, n = 14) => s.padStart(n);
const line = (head: string, cells: string[]) =>
  console.log(`${head.padEnd(8)}${cells.map((c) => pad(c)).join("")}`);
console.log(
  `embedded pipeline, 640×480, prior ${prior ? `${prior.name} on ${prior.provider}` : "none"}, median of ${REPEATS} runs (ms)`,
);
line("frames", [...STAGES]);
for (const r of rows)
  line(
    String(r.frames),
    STAGES.map((s) => r.ms[s]!.toFixed(1)),
  );

console.log("\nratios measured in the same run:");
line("frames", ["fusion/prior", "total/decode", "frame/decode"]);
for (const r of rows) {
  const fusion = FUSION.reduce((s, k) => s + r.ms[k]!, 0);
  line(String(r.frames), [
    prior ? (fusion / r.ms.prior!).toFixed(2) : "n/a",
    (r.ms.total! / r.ms.decode!).toFixed(2),
    (r.ms.total! / r.frames / r.ms.decode!).toFixed(2),
  ]);
}
const [five, ten] = rows;
console.log(`\n10 frames / 5 frames, total: ${(ten!.ms.total! / five!.ms.total!).toFixed(2)}`);
