/**
 * Per-stage times of the embedded pipeline on 480×640 stacks of 5 and 10 frames, synthesized
 * from the bundled sample. Figures are medians of several runs, printed in ms and as ratios
 * against the decode stage measured in the same run (so they compare across machines).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import {
  LARGE_APERTURE_LENS,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { median } from "../shared/src/math/stats.ts";
import { BUNDLED_SAMPLE } from "../test/helpers/sharedData.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const STAGES = ["decode", "registration", "dff", "total"] as const;

const [rgb, depth] = await Promise.all([
  readFile(join(BUNDLED_SAMPLE, "f02.jpg")),
  readFile(join(BUNDLED_SAMPLE, "gt_depth.png")),
]);
const rows: { frames: number; ms: Record<string, number> }[] = [];
for (const frames of [5, 10]) {
  const dir = await tempDir("hybriddepth-bench-");
  await synthesizeCapture(rgb, depth, dir, { lens: LARGE_APERTURE_LENS, frames });
  const source = await loadCaptureDir(dir);
  await runPipeline(source); // warm-up: JIT, sharp's thread pool
  const runs: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
  for (let k = 0; k < REPEATS; k++) {
    const { result } = await runPipeline(source);
    for (const s of STAGES) runs[s]!.push(result.timingsMs[s] ?? 0);
  }
  rows.push({ frames, ms: Object.fromEntries(STAGES.map((s) => [s, median(runs[s]!)])) });
}

const pad = (s: string, n: number) => s.padStart(n);
console.log(`embedded pipeline, stage dff, 640×480, median of ${REPEATS} runs`);
console.log(
  `${"frames".padEnd(8)}${STAGES.map((s) => pad(`${s} ms`, 22)).join("")}${pad("ms/frame", 12)}`,
);
for (const r of rows) {
  console.log(
    `${String(r.frames).padEnd(8)}${STAGES.map((s) => pad(r.ms[s]!.toFixed(1), 22)).join("")}${pad((r.ms.total! / r.frames).toFixed(1), 12)}`,
  );
}
console.log("\nratios against decode (same run):");
console.log(`${"frames".padEnd(8)}${STAGES.map((s) => pad(`${s}/decode`, 22)).join("")}`);
for (const r of rows)
  console.log(
    `${String(r.frames).padEnd(8)}${STAGES.map((s) => pad((r.ms[s]! / r.ms.decode!).toFixed(2), 22)).join("")}`,
  );
const [five, ten] = rows;
console.log(
  `\n10 frames / 5 frames, total: ${(ten!.ms.total! / five!.ms.total!).toFixed(2)} (linear in frames would be 2.00)`,
);
