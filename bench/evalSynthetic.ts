/**
 * The evaluation set of the core issues: stacks synthesized from every RGB-D sample in
 * ../shared/data/rgbd with two cameras (phone: 9 mm f/1.8, 8 mm sensor; large aperture: 25 mm
 * f/2, 12 mm sensor) and 5 and 10 frames, scored at every stage with the pydnet-pp prior.
 *   npm run eval:synthetic -- [--heldout] [--quick] [--no-optics] [--solve] [--seeds 1,2,3] [--psf gaussian|disc] [--supersample 2] [--json]
 * `--heldout` scores a second set instead, never used to choose parameters: two other cameras
 * (6.8 mm f/1.6 on a 7.2 mm sensor, 15 mm f/2.8 on 9 mm), 4 and 7 frames at uneven focus
 * steps, another noise seed and level, and another renderer (a uniform-disc PSF, not a Gaussian). `--quick` takes the first scene only (for iterating);
 * `--seeds 1,2,3` renders every capture's sensor noise from each of those seeds instead of the
 * set's own and averages each capture's scores over them;
 * Every stack is rendered at 2× and averaged down, so that blur under a pixel spreads as it
 * does on a sensor (`--supersample 1` renders at size, as before pipeline 0.3.8; 3, 4: finer);
 * `--psf gaussian|disc` renders every capture with that PSF instead of its set's (how much of a
 * score is the renderer's, where blur is under a pixel and the two renderers discretise it
 * differently);
 * `--no-optics` drops the camera from every capture (the blur per diopter is then fitted);
 * `--solve` refines by the global edge-aware solve instead of the guided-filter passes.
 * `--fusion graph|js` runs every fusion stage that way (default: the provider's per-stage plan);
 * `--fusion compare` runs each capture both ways, scores the js path and prints each capture's
 * full-AbsRel difference, graph − js, failing if any exceeds 0.002 (issue 14's bound).
 * Synthesized stacks are cached in the system temp folder (keyed by their parameters).
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FusionPath } from "#shared/pipeline/result.ts";
import { fillDepthHoles, focusSweep } from "#shared/synth/defocusRenderer.ts";
import { CAPTURE_FILE, loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import {
  averageMetrics,
  type EvalRow,
  evaluateCapture,
} from "../gpu-service/src/eval/evaluateCapture.ts";
import { framePairs } from "../gpu-service/src/eval/framePairs.ts";
import { decodeGray16 } from "../gpu-service/src/io/decodeImage.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import {
  LARGE_APERTURE_LENS,
  PHONE_LENS,
  SENSOR_SUPERSAMPLE,
  type SynthOptions,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { SHARED_DATA } from "../test/helpers/sharedData.ts";

interface CaptureSpec {
  camera: string;
  frames: number;
  options: Partial<SynthOptions> & { lens: SynthOptions["lens"] };
  /** Uneven focus steps: each sweep position moved by this share of a step (deterministic). */
  jitter?: number;
}

const args = process.argv.slice(2);
const heldout = args.includes("--heldout");
const quick = args.includes("--quick");
const noOptics = args.includes("--no-optics");
// The global edge-aware solve instead of the two guided-filter passes (globalScaleSolve.ts).
const refine = args.includes("--solve") ? ("solve" as const) : undefined;
// Other noise seeds for every capture (default: the set's own), each capture scored at each and
// its scores averaged: how much of a difference between two captures is their noise's.
const seedsArg = args.includes("--seeds") ? (args[args.indexOf("--seeds") + 1] ?? "") : undefined;
if (seedsArg !== undefined && !/^\d+(,\d+)*$/.test(seedsArg))
  throw new Error(`--seeds ${seedsArg}: expected integers separated by commas (1,2,3)`);
const seeds = seedsArg?.split(",").map(Number);
const psfArg = args.includes("--psf") ? (args[args.indexOf("--psf") + 1] ?? "") : undefined;
if (psfArg !== undefined && psfArg !== "gaussian" && psfArg !== "disc")
  throw new Error(`--psf ${psfArg || "(no value)"}: expected gaussian or disc`);
const psf = psfArg as SynthOptions["psf"];
const ssArg = args.includes("--supersample")
  ? (args[args.indexOf("--supersample") + 1] ?? "")
  : undefined;
if (ssArg !== undefined && !/^[1-8]$/.test(ssArg))
  throw new Error(`--supersample ${ssArg || "(no value)"}: expected an integer from 1 to 8`);
// Rendered at 2× and averaged down by default, so blur under a pixel spreads as on a sensor.
const supersample = ssArg === undefined ? SENSOR_SUPERSAMPLE : Number(ssArg);
const fusionArg = args.includes("--fusion")
  ? (args[args.indexOf("--fusion") + 1] ?? "")
  : undefined;
if (fusionArg !== undefined && !["graph", "js", "compare"].includes(fusionArg))
  throw new Error(`--fusion ${fusionArg || "(no value)"}: expected graph, js or compare`);
/** The graph path's full AbsRel may differ from the reference's by at most this. */
const FUSION_BOUND = 0.002;
let maxFusionDiff = 0;

const MAIN: CaptureSpec[] = [
  ...[5, 10].map((frames) => ({ camera: "phone", frames, options: { lens: PHONE_LENS, frames } })),
  ...[5, 10].map((frames) => ({
    camera: "large",
    frames,
    options: { lens: LARGE_APERTURE_LENS, frames },
  })),
];
const HELDOUT_PHONE = { focalLengthMm: 6.8, fNumber: 1.6, sensorWidthMm: 7.2 };
const HELDOUT_MID = { focalLengthMm: 15, fNumber: 2.8, sensorWidthMm: 9 };
const HELDOUT: CaptureSpec[] = [HELDOUT_PHONE, HELDOUT_MID].flatMap((lens, c) =>
  [4, 7].map((frames) => ({
    camera: c === 0 ? "phone-b (6.8 mm f/1.6)" : "mid (15 mm f/2.8)",
    frames,
    options: { lens, frames, seed: 7, noise: 0.006, jpegQuality: 88, psf: "disc" as const },
    jitter: 0.3,
  })),
);

const rgbdRoot = join(SHARED_DATA, "rgbd");
const scenes = (await readdir(rgbdRoot, { withFileTypes: true }))
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()
  .slice(0, quick ? 1 : undefined);
const cacheRoot = join(tmpdir(), "hybriddepth-evalset-v1");
const prior = await loadPrior((await resolveModel("pydnet-pp"))!);

interface Scored {
  scene: string;
  camera: string;
  frames: number;
  rows: EvalRow[];
}
const scored: Scored[] = [];
for (const scene of scenes) {
  const [rgb, depth] = await Promise.all([
    readFile(join(rgbdRoot, scene, "rgb.jpg")),
    readFile(join(rgbdRoot, scene, "depth_mm.png")),
  ]);
  const specs = (heldout ? HELDOUT : MAIN)
    .map((set): CaptureSpec => (psf ? { ...set, options: { ...set.options, psf } } : set))
    .map(
      (set): CaptureSpec =>
        supersample > 1 ? { ...set, options: { ...set.options, supersample } } : set,
    )
    .flatMap((set) =>
      seeds ? seeds.map((seed) => ({ ...set, options: { ...set.options, seed } })) : [set],
    );
  for (const spec of specs) {
    const key = `${scene}-${JSON.stringify(spec.options)}-${spec.jitter ?? 0}`.replace(
      /[^\w.-]+/g,
      "_",
    );
    const dir = join(cacheRoot, key);
    if (!existsSync(join(dir, CAPTURE_FILE))) {
      await rm(dir, { recursive: true, force: true });
      const focusM = spec.jitter ? await unevenSweep(depth, spec.frames, spec.jitter) : undefined;
      await synthesizeCapture(rgb, depth, dir, { ...spec.options, ...(focusM ? { focusM } : {}) });
    }
    const source = await loadCaptureDir(dir);
    if (noOptics) delete source.capture.camera;
    const fusion = fusionArg === "compare" ? "js" : (fusionArg as FusionPath | undefined);
    const rows = await evaluateCapture(source, ["dff", "aligned", "full"], {
      prior,
      ...(refine ? { refine } : {}),
      ...(fusion ? { fusion } : {}),
    });
    if (fusionArg === "compare") {
      const again = await loadCaptureDir(dir);
      if (noOptics) delete again.capture.camera;
      const graph = await evaluateCapture(again, ["full"], { prior, fusion: "graph" });
      const diff = Math.abs(graph[0]!.all.absRel - rows[2]!.all.absRel);
      maxFusionDiff = Math.max(maxFusionDiff, diff);
      process.stderr.write(
        `${scene} ${spec.camera} ${spec.frames}: full AbsRel graph ${graph[0]!.all.absRel.toFixed(4)}, |graph − js| ${diff.toExponential(2)}\n`,
      );
    }
    scored.push({ scene, camera: spec.camera, frames: spec.frames, rows });
    process.stderr.write(
      `${scene} ${spec.camera} ${spec.frames}${seeds ? ` seed ${spec.options.seed}` : ""}: full AbsRel ${rows[2]!.all.absRel.toFixed(4)}\n`,
    );
  }
}

const f3 = (v: number) => v.toFixed(3);
const line = (label: string, group: Scored[]) => {
  const mean = (s: number) => averageMetrics(group.map((g) => g.rows[s]!.all));
  const dffTop = averageMetrics(group.map((g) => g.rows[0]!.confident));
  const [dff, aligned, full] = [mean(0), mean(1), mean(2)];
  const ratios = group.map((g) => g.rows[0]!.calibration!.errorOverSigma68);
  const calibration = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  return `| ${label} | ${f3(dff.absRel)} | ${f3(dffTop.absRel)} | ${calibration} | ${f3(aligned.absRel)} | ${f3(full.absRel)} | ${f3(full.d1)} |`;
};
const groups = [...new Set(scored.map((s) => `${s.camera}|${s.frames}`))];
const out = [
  "| camera, frames | dff AbsRel | dff AbsRel top 30% | dff error ÷ σ (q68) | aligned AbsRel | full AbsRel | full δ1 |",
  "|---|---|---|---|---|---|---|",
  ...groups.map((g) => {
    const [camera, frames] = g.split("|");
    return line(
      `${camera}, ${frames}`,
      scored.filter((s) => `${s.camera}|${s.frames}` === g),
    );
  }),
  line(`**all ${scored.length}**`, scored),
];
if (args.includes("--json")) console.log(JSON.stringify(scored, null, 2));
else {
  console.log(out.join("\n"));
  console.log(
    "dff error ÷ σ (q68): over the captures, the 68th percentile of |ln(DFF / truth)| ÷ the 1σ error its confidence predicts (pixels ≥ 0.5 confident); 1: confidence predicts the error, above 1: it understates it",
  );
  // More frames must not hurt: every scene × camera, full AbsRel at the fewer and the more
  // frames (with --seeds: averaged over the seeds, and at how many seeds the pair was worse),
  // flagged where the larger stack is worse.
  // Scored scene by scene, each frame count's captures in seed order: twins pair up.
  const { few, many, pairs } = framePairs(
    scored.map((s) => ({ ...s, absRel: s.rows[2]!.all.absRel })),
  );
  const seedCell = seeds ? ` worse at (of ${seeds.length} seeds) |` : "";
  console.log(
    `\n| scene | camera | full AbsRel, ${few} frames | ${many} frames | ${many} ÷ ${few} |${seedCell}\n|---|---|---|---|---|${seeds ? "---|" : ""}`,
  );
  const worse = pairs.filter((p) => p.more > p.fewer).length;
  for (const p of pairs)
    console.log(
      `| ${p.scene} | ${p.camera} | ${f3(p.fewer)} | ${f3(p.more)} | ${p.ratio.toFixed(3)}${p.more > p.fewer ? " **worse**" : ""} |${seeds ? ` ${p.worseSeeds} |` : ""}`,
    );
  console.log(`\n${worse} scene × camera pairs worse with ${many} frames than with ${few}`);
}

if (fusionArg === "compare") {
  console.log(
    `fusion graph vs js: max |Δ full AbsRel| over ${scored.length} captures ${maxFusionDiff.toExponential(2)} (bound ${FUSION_BOUND})`,
  );
  if (!(maxFusionDiff <= FUSION_BOUND)) process.exitCode = 1;
}

/** The default sweep with each position moved by ±`jitter` of a diopter step, alternately. */
async function unevenSweep(depthPng: Uint8Array, frames: number, jitter: number) {
  const raw = await decodeGray16(depthPng, "depth image");
  const d = Float32Array.from(raw.data, (v) => v / 1000);
  const even = focusSweep(
    fillDepthHoles({ width: raw.width, height: raw.height, data: d }),
    frames,
  );
  const dio = even.map((m) => 1 / m);
  const step = (dio[0]! - dio.at(-1)!) / (frames - 1);
  return dio.map((x, k) =>
    k === 0 || k === frames - 1 ? 1 / x : 1 / (x + (k % 2 ? jitter : -jitter) * step),
  );
}
