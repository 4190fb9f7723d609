/**
 * Fusion graphs against their TypeScript references on onnxruntime's CPU provider, per stage,
 * printed in ms and as graph ÷ js ratios measured in the same run (the machine's load average is
 * printed too: other work on it shifts both columns alike, not the ratio's sign):
 *  - 640×480: a frame of the bundled sample;
 *  - the 12 MP phone stack's work size (../shared/data/focal-real/pixel6pro-desk, 3.2 MP).
 * Also the device memory the graphs need at that size, from onnxruntime's profile (every node
 * output plus the inputs, no reuse counted: an upper bound), and the host↔device bytes of one
 * job on the graph path (bench/graphTransfers.ts).
 * GPU figures need a CUDA host: HYBRIDDEPTH_PROVIDERS=cuda,cpu runs the same bench there.
 */
import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { focusMeasureGraph, focusMeasureOnGraph } from "../gpu-service/src/graphs/focusMeasure.ts";
import { frameGraph, frameOnGraph } from "../gpu-service/src/graphs/frameGraph.ts";
import { profileGraph } from "../gpu-service/src/graphs/graphSession.ts";
import {
  finishLensFitOnGraph,
  fitLensGridOnGraph,
  lensFitChunkRows,
  lensFitGraph,
} from "../gpu-service/src/graphs/lensFit.ts";
import { refineAlignedOnGraph, refineGraph } from "../gpu-service/src/graphs/refine.ts";
import { fusionInput, noise, sampleGray } from "../gpu-service/src/graphs/testInputs.ts";
import { warpCoefficients, warpFrameOnGraph } from "../gpu-service/src/graphs/warp.ts";
import { probeImage } from "../gpu-service/src/io/decodeImage.ts";
import { bandRunner } from "../gpu-service/src/parallel/bandRunner.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { confidenceOf, DffAccumulator, noiseFloors } from "../shared/src/dff/accumulator.ts";
import { defaultWindowRadius, focusMeasure } from "../shared/src/dff/focusMeasure.ts";
import {
  DEFAULT_FOCUS_NOISE,
  finishLensFit,
  fitLensGridRows,
  type LensFitPlan,
  lensFitGrid,
  planLensFit,
} from "../shared/src/dff/lensCurve.ts";
import { refineAligned } from "../shared/src/fusion/fuse.ts";
import { type Plane, toGray } from "../shared/src/image/types.ts";
import { warpSimilarity } from "../shared/src/image/warp.ts";
import { median } from "../shared/src/math/stats.ts";
import type { BandRunner } from "../shared/src/pipeline/rowBands.ts";
import { MAX_WORK_PIXELS, workSize } from "../shared/src/pipeline/workSize.ts";
import { BUNDLED_SAMPLE, hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";
import { printJobTransfers } from "./graphTransfers.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** A registration-sized similarity: 1% scale, 0.5° rotation, a few pixels of shift. */
const SHIFT = { a: 0.01, b: 0.009, tx: 3.3, ty: -2.1 };

async function timeMs(f: () => unknown): Promise<number> {
  await f(); // warm-up: the graph's session is built on first use
  const times: number[] = [];
  for (let k = 0; k < REPEATS; k++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return median(Float64Array.from(times));
}

const row = (cells: (string | number)[]) =>
  console.log(
    cells.map((c, i) => String(c)[i === 0 ? "padEnd" : "padStart"](i === 0 ? 26 : 12)).join(""),
  );

/** A real stack's focus measures (ascending diopters) and its lens-fit plan, blur fitted. */
async function stackPlan(
  dir: string,
  size?: { width: number; height: number },
): Promise<{ plan: LensFitPlan; focus: Float32Array[]; diopters: Float64Array }> {
  const capture = JSON.parse(await readFile(join(dir, "capture.json"), "utf8")) as {
    frames: { file: string; focusDistance: number }[];
  };
  const frames = [...capture.frames].sort((a, b) => b.focusDistance - a.focusDistance);
  const grays = await Promise.all(frames.map((f) => sampleGray(join(dir, f.file), size)));
  const { width, height } = grays[0]!;
  const r = defaultWindowRadius(width, height);
  const focus = grays.map((g) => focusMeasure(g, r));
  const diopters = Float64Array.from(frames, (f) => 1 / f.focusDistance);
  const mid = grays[grays.length >> 1]!;
  const plan = planLensFit(
    focus,
    noiseFloors(focus),
    diopters,
    undefined,
    mid,
    DEFAULT_FOCUS_NOISE,
  );
  return { plan, focus, diopters };
}

const bands = bandRunner();

/** An accumulator holding the stack's focus measures (colour: the gray frame, unused here). */
function dffAccumulator(
  stack: { focus: Float32Array[]; diopters: Float64Array },
  gray: Plane,
  runner: BandRunner,
): DffAccumulator {
  const acc = new DffAccumulator(gray.width, gray.height, stack.diopters, {
    alloc: runner.alloc,
  });
  const rgb = new Float32Array(3 * gray.data.length);
  for (const f of stack.focus) acc.add(f, rgb);
  return acc;
}

async function benchSize(
  label: string,
  gray: Plane,
  stack: { plan: LensFitPlan; focus: Float32Array[]; diopters: Float64Array },
): Promise<void> {
  const { width: w, height: h } = gray;
  const { plan, focus } = stack;
  const grid = lensFitGrid(plan);
  const radius = defaultWindowRadius(w, h);
  const { input, aligned } = fusionInput(gray);
  const rgb = Float32Array.from({ length: 3 * w * h }, (_, i) => gray.data[Math.floor(i / 3)]!);
  // The decoder's 8-bit samples of that RGB, as the frame graph takes them on the graph path.
  const samples = Uint8Array.from(rgb, (v) => Math.round(255 * v));
  const rgbImage = { width: w, height: h, data: rgb };
  const stages: [string, () => unknown, () => unknown][] = [
    [
      "focusMeasure",
      () => focusMeasure(gray, radius),
      async () => (await focusMeasureOnGraph(gray, radius)).data,
    ],
    [
      "warp (focus + RGB)",
      () => {
        warpSimilarity(gray.data, w, h, 1, SHIFT, undefined, new Uint8Array(w * h));
        warpSimilarity(rgb, w, h, 3, SHIFT);
      },
      () => warpFrameOnGraph(gray.data, rgb, w, h, SHIFT),
    ],
    [
      // A registered frame's whole per-pixel work: one graph against the TypeScript it replaces.
      "frame: gray + focus + warp",
      () => {
        const f = focusMeasure(toGray(rgbImage), radius);
        warpSimilarity(f, w, h, 1, SHIFT, undefined, new Uint8Array(w * h));
        warpSimilarity(rgb, w, h, 3, SHIFT);
      },
      () => frameOnGraph(samples, w, h, SHIFT, radius),
    ],
    [
      `lens fit (${focus.length} frames)`,
      () => fitLensGridRows(plan, focus, grid, 0, plan.gh),
      () => fitLensGridOnGraph(plan, focus, grid),
    ],
    [
      "lens finish (depth, confidence)",
      () => {
        const fit = finishLensFit(plan, grid);
        const depth = new Float32Array(w * h);
        const confidence = new Float32Array(w * h);
        for (let i = 0; i < depth.length; i++) {
          const p = fit.position[i]!;
          depth[i] = 1 / p;
          confidence[i] = confidenceOf(fit.variance[i]! / (p * p));
        }
      },
      () => finishLensFitOnGraph(plan, grid),
    ],
    [
      // As runPipeline runs it: planned, then fitted in row bands on the frame pool, or as graphs.
      `DFF finish, ${bands.threads} threads`,
      () => dffAccumulator(stack, gray, bands).finishInBands(bands),
      () =>
        dffAccumulator(stack, gray, bands).finishInBands(bands, {
          fitGrid: async (p, f, g) => {
            await fitLensGridOnGraph(p, f, g);
          },
          finish: finishLensFitOnGraph,
        }),
    ],
    [
      "refinement",
      () => refineAligned(input, aligned.slice()),
      () => refineAlignedOnGraph(input, aligned.slice()),
    ],
  ];
  console.log(`\n${label}: ${w}×${h}, load average ${loadavg()[0]!.toFixed(1)}`);
  row(["stage", "js ms", "graph ms", "graph/js"]);
  for (const [name, js, graph] of stages) {
    const a = await timeMs(js);
    const b = await timeMs(graph);
    row([name, a.toFixed(1), b.toFixed(1), (b / a).toFixed(2)]);
  }
}

async function memory(gray: Plane): Promise<void> {
  const { width: w, height: h } = gray;
  const dims = [1, 1, h, w];
  const { input, aligned } = fusionInput(gray);
  const focus = await profileGraph(() => focusMeasureGraph(w, h, defaultWindowRadius(w, h)), {
    gray: { data: gray.data, dims },
  });
  const refine = await profileGraph(() => refineGraph(w, h, input.range), {
    aligned: { data: aligned, dims },
    dff: { data: input.dffDepth, dims },
    confidence: { data: input.confidence, dims },
    guide: { data: gray.data, dims },
  });
  // The lens fit runs in chunks of grid rows: its graph's size is one chunk's, at 10 frames.
  const K = 10;
  const M = Math.max(24, 3 * K);
  const rows = lensFitChunkRows({ gw: Math.ceil(w / 6), gh: Math.ceil(h / 6) });
  const G = rows * Math.ceil(w / 6);
  const lens = await profileGraph(() => lensFitGraph(K, M, G), {
    focus: { data: noise(K * G, 1), dims: [K, G] },
    floors: { data: new Float32Array(K).fill(0.01), dims: [K, 1] },
    phi: { data: Float32Array.from(noise(M * K, 2), (v) => -3 * v), dims: [M, K] },
    params: { data: Float32Array.of(0.5, 3, 0.02, 0.0025), dims: [4] },
  });
  const frame = await profileGraph(() => frameGraph(w, h, defaultWindowRadius(w, h), "uint8"), {
    rgb: { data: new Uint8Array(3 * w * h), dims: [1, h, w, 3] },
    coef: { data: warpCoefficients(SHIFT, w, h), dims: [6] },
  });
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\ndevice memory at ${w}×${h} (every tensor, no reuse: an upper bound)`);
  console.log(`  focus-measure graph (one frame at a time): ${mb(focus.tensorBytes)}`);
  console.log(`  frame graph (gray + focus + warp, one frame at a time): ${mb(frame.tensorBytes)}`);
  console.log(`  refinement graph: ${mb(refine.tensorBytes)}`);
  console.log(`  lens-fit graph (10 frames, ${G} grid points a chunk): ${mb(lens.tensorBytes)}`);
  // A stack of 10 frames resident on the device as well: RGB + focus measure, float32.
  const stack = 10 * w * h * (3 + 1) * 4;
  console.log(`  10 frames resident (RGB + focus, float32): ${mb(stack)}`);
  console.log(
    `  peak with the stack resident: ${mb(stack + Math.max(focus.tensorBytes, frame.tensorBytes, refine.tensorBytes))}`,
  );
  // The all-in-focus composite as a graph over the stack would take every warped frame's RGB and
  // focus up (the running peak on the host needs nothing more: the warped RGB comes back anyway).
  console.log(
    `  a composite graph over 10 frames: ${mb(10 * w * h * 4 * 4 + 3 * w * h * 4)} (uploaded per job on top of the frames' own traffic)`,
  );
}

console.log(`fusion graphs vs TypeScript, CPU provider, median of ${REPEATS} after a warm-up`);
await benchSize(
  "bundled sample",
  await sampleGray(join(BUNDLED_SAMPLE, "f02.jpg")),
  await stackPlan(BUNDLED_SAMPLE),
);
const PHONE = join(SHARED_DATA, "focal-real", "pixel6pro-desk");
if (hasSharedData("focal-real/pixel6pro-desk")) {
  const file = join(PHONE, "image_3_0.90.jpg");
  const size = await probeImage(new Uint8Array(await readFile(file)), file);
  const work = workSize(size, MAX_WORK_PIXELS);
  const gray = await sampleGray(file, work);
  await benchSize(
    `12 MP phone stack (${size.width}×${size.height})`,
    gray,
    await stackPlan(PHONE, work),
  );
  await memory(gray);
} else console.log("\n../shared/data/focal-real/pixel6pro-desk not found: 640×480 only");

// Host↔device bytes of a job with every stage a graph (the CUDA plan), prior included when found.
console.log("\nhost↔device bytes of one job on the graph path (one pipeline thread)");
const model = await resolveModel();
const prior = model ? await loadPrior(model, ["cpu"]) : undefined;
await printJobTransfers("bundled sample", BUNDLED_SAMPLE, prior);
if (hasSharedData("focal-real/pixel6pro-desk"))
  await printJobTransfers("12 MP phone stack", PHONE, prior);
