import { randomUUID } from "node:crypto";
import { focusDiopters, referenceIndex } from "#shared/capture/parse.ts";
import type { Stage } from "#shared/capture/schema.ts";
import { DffAccumulator } from "#shared/dff/accumulator.ts";
import { defaultWindowRadius } from "#shared/dff/focusMeasure.ts";
import { describeBlur, type LensFitPlan } from "#shared/dff/lensCurve.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { Alignment } from "#shared/fusion/alignScaleShift.ts";
import {
  alignPrior,
  alignPriorInBands,
  refineAlignedGlobal,
  refineAlignedInBands,
} from "#shared/fusion/fuse.ts";
import type { Plane, Rgb8Image } from "#shared/image/types.ts";
import { similarityRotation, similarityScale } from "#shared/image/warp.ts";
import { zeroNear } from "#shared/image/zeroNear.ts";
import { countAtLeast } from "#shared/math/stats.ts";
import { assertFinite } from "#shared/pipeline/finite.ts";
import {
  CONFIDENT_THRESHOLD,
  type FrameRegistration,
  type FusionPath,
  type FusionUsed,
  type PipelineResult,
} from "#shared/pipeline/result.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import { MAX_WORK_PIXELS, workSize } from "#shared/pipeline/workSize.ts";
import type { Registration } from "#shared/registration/similarity.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { fusionPlan, placementAsked, planPath } from "../graphs/fusionPath.ts";
import { describePlacement, fusionStages } from "../graphs/fusionStages.ts";
import { finishLensFitOnGraph, fitLensGridOnGraph } from "../graphs/lensFit.ts";
import { DEFAULT_MAX_FRAME_PIXELS, probeImage } from "../io/decodeImage.ts";
import { samplesToRgb8, toRgb8 } from "../io/encodeImage.ts";
import { captureOptics } from "../io/exifOptics.ts";
import { bandRunner } from "../parallel/bandRunner.ts";
import { frameRunner } from "../parallel/framePool.ts";
import type { Prior, Provider } from "../prior/priorRunner.ts";
import { type FrameJob, type FrameOutput, sharedReference } from "./frameWork.ts";
import type { SparePlane } from "./sparePlanes.ts";

export interface PipelineOptions {
  stage: Stage;
  /** The single-image depth prior for the aligned and full stages. */
  prior?: Prior;
  /** Frames are resampled so that width × height stays at or under this. */
  maxWorkPixels: number;
  /** Frames larger than this are rejected outright. */
  maxFramePixels: number;
  /** Register frames to the reference (off only for stacks known to be aligned). */
  register: boolean;
  /** Focus-measure window radius in work pixels; default scales with the image. */
  windowRadius?: number;
  /**
   * Threads for the per-frame work (decode, focus, registration, warp) and the row bands of
   * the per-pixel stages: 1 runs it on this thread; more share the process's pool of that size. Default: HYBRIDDEPTH_THREADS, else
   * the cores this process may use. The result does not depend on it.
   */
  threads?: number;
  /**
   * Per-pixel stages as ONNX graphs on the prior's provider, or the TypeScript reference.
   * Default: HYBRIDDEPTH_FUSION, else per provider and stage (graphs on CUDA; on the CPU the
   * refinement graph, the other stages in TypeScript).
   */
  fusion?: FusionPath;
  /**
   * Refinement: the two guided-filter passes (graph or TypeScript, see `fusion`), or the global
   * edge-aware solve (TypeScript only; measured a tie on eval:synthetic, so not the default).
   * Default: HYBRIDDEPTH_REFINE (`guided` | `solve`), else `guided`.
   */
  refine?: "guided" | "solve";
  /** Name each graph node's execution provider in result.json (HYBRIDDEPTH_FUSION_PLACEMENT=1). */
  placement?: boolean;
  /** Called between stages and frames; throws to stop the job there (cancellation). */
  checkpoint?: () => void;
}

/**
 * The alignment's per-pixel passes run in row bands from this size up. Below it the bands' fresh
 * shared planes cost about what the split saves (640×480, 2 threads: 14–19 ms in bands against
 * 16–19 ms on this thread).
 */
const BANDED_ALIGNMENT_MIN_PIXELS = 1_000_000;

/** The shared working-size budget (`shared/src/pipeline/workSize.ts`, the SDK uses it too). */
export const DEFAULT_MAX_WORK_PIXELS = MAX_WORK_PIXELS;

export const DEFAULT_PIPELINE: PipelineOptions = {
  stage: "full",
  maxWorkPixels: DEFAULT_MAX_WORK_PIXELS,
  maxFramePixels: DEFAULT_MAX_FRAME_PIXELS,
  register: true,
};

export interface PipelineOutput {
  depth: Plane;
  /** Depth-from-focus confidence (0..1), whatever the stage. */
  confidence: Plane;
  /** The prior's relative inverse depth at work size, when a prior ran. */
  prior?: Plane;
  /** The depth after each stage that ran (for ablations), metres. */
  stageDepths: Partial<Record<Stage, Float32Array>>;
  /** Each pixel from its sharpest frame, as 8-bit samples (what aif.png encodes). */
  allInFocus: Rgb8Image;
  /** The reference frame at work size, as decoded (8-bit: previews show it as it came). */
  reference: Rgb8Image;
  result: PipelineResult;
}

/** Depths outside this (m) are clamped when the capture gives no depthRange. */
export const DEFAULT_DEPTH_RANGE = { min: 0.05, max: 100 };

/**
 * Runs the pipeline on one capture: decode → register → depth from focus, then for `aligned`
 * the prior fitted to it, and for `full` the refined scale map on top.
 */
export async function runPipeline(
  source: CaptureSource,
  opts: Partial<PipelineOptions> = {},
): Promise<PipelineOutput> {
  const o: PipelineOptions = { ...DEFAULT_PIPELINE, ...opts };
  const warnings: string[] = [];
  const fallbacks: string[] = [];
  const { capture } = source;
  const timings: Record<string, number> = { decode: 0, registration: 0, dff: 0 };
  const started = performance.now();
  const time = async <T>(stage: string, f: () => T | Promise<T>): Promise<T> => {
    o.checkpoint?.();
    const t = performance.now();
    try {
      return await f();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + performance.now() - t;
    }
  };

  const diopters = focusDiopters(capture);
  const order = Array.from(diopters.keys()).sort((a, b) => diopters[a]! - diopters[b]!);
  /** Each frame's index in focus order (the accumulator's). */
  const rank = new Map(order.map((i, k) => [i, k]));
  const refIdx = referenceIndex(capture);
  const frameName = (i: number) => `frame ${i} (${capture.frames[i]!.file})`;
  // Each frame is read once (header probe and decode share the bytes), reference first, then in
  // focus order as the pool asks, and let go once its work is done: a streaming source holds a
  // few frames' bytes at a time, never the whole stack.
  source.plan?.([refIdx, ...order.filter((i) => i !== refIdx)]);
  const refBytes = await time("decode", () => source.readFrame(refIdx));
  const sourceSize = await time("decode", () =>
    probeImage(refBytes, frameName(refIdx), o.maxFramePixels),
  );
  const work = workSize(sourceSize, o.maxWorkPixels);
  /** Another frame's bytes, once its header says it is a JPEG/PNG of the reference's size. */
  const read = async (i: number): Promise<Uint8Array> => {
    const bytes = await source.readFrame(i);
    const size = await probeImage(bytes, frameName(i), o.maxFramePixels);
    if (size.width !== sourceSize.width || size.height !== sourceSize.height) {
      throw new HybridDepthError(
        "FRAME_SIZE_MISMATCH",
        `${frameName(i)} is ${size.width}×${size.height} but ${frameName(refIdx)} is ${sourceSize.width}×${sourceSize.height}`,
      );
    }
    return bytes;
  };
  const n = work.width * work.height;
  const radius = o.windowRadius ?? defaultWindowRadius(work.width, work.height);
  const runner = frameRunner(o.threads);
  const bands = bandRunner(o.threads);
  const plan = fusionPlan(o.fusion, o.prior?.provider as Provider | undefined, n);
  const fusion = fusionStages(plan);
  const refine = o.refine ?? (process.env.HYBRIDDEPTH_REFINE === "solve" ? "solve" : "guided");
  const ranOn: Record<string, string> = {};
  const job: FrameJob = {
    id: `${process.pid}:${randomUUID()}`,
    work: { width: work.width, height: work.height },
    maxFramePixels: o.maxFramePixels,
    windowRadius: radius,
    register: o.register,
    fusion: plan,
    reference: sharedReference(work),
    shared: bands.threads > 1,
  };
  // Colour planes already in the accumulator go back to the pool with the next frame's task.
  const recycled: SparePlane[] = [];
  const run = (i: number, bytes: Uint8Array): Promise<FrameOutput> =>
    runner
      .run({
        job,
        bytes,
        name: frameName(i),
        isReference: i === refIdx,
        recycled: recycled.splice(0),
      })
      .finally(() => source.release?.(i));
  // Pixels some registered frame does not cover: their focus curve is incomplete.
  const outside = new Uint8Array(n);
  const lens = await time("decode", () =>
    captureOptics(capture.camera, async () => refBytes, work.width, work.height),
  );
  const acc = new DffAccumulator(
    work.width,
    work.height,
    order.map((i) => diopters[i]!),
    { ...(lens ? { blur: { kind: "optics", ...lens } } : {}), alloc: bands.alloc },
  );
  const registrations: FrameRegistration[] = [];
  // The prior sees the reference frame as decoded (at work size), the image the depths are
  // registered to; the all-in-focus composite scored the same on the synthetic eval (CHANGELOG,
  // 0.3.7) and is only made once every frame is in. When the prior runs on its own thread and
  // leaves some of the pool's threads free (a GPU, or fewer CPU threads than the pool) it starts
  // as soon as the reference is decoded, beside the frames and the lens fit. Taking every core,
  // the two would only slow each other, so it starts after the fit. Its time is its own span.
  const model = o.stage !== "dff" ? o.prior : undefined;
  const priorBeside = model?.ownThread === true && model.cpuThreads < bands.threads;
  const alignInBands = bands.threads > 1 && n >= BANDED_ALIGNMENT_MIN_PIXELS;
  let priorRun: Promise<Float32Array> | undefined;
  const startPrior = (image: Rgb8Image) => {
    if (!model) return;
    const t = performance.now();
    // In the bands' memory when the alignment's row bands read it (a batch's output, which the
    // prior cannot put there, is copied).
    priorRun = (
      alignInBands ? model.infer(image, bands).then((v) => bands.share(v)) : model.infer(image)
    ).finally(() => {
      timings.prior = performance.now() - t;
    });
    priorRun.catch(() => {}); // observed where it is awaited (a job that fails first drops it)
  };
  // The reference goes first (the others register to it), then the rest in focus order, a
  // bounded number ahead of the accumulator: memory holds a few frames, not the whole stack.
  const thread = { decode: 0, registration: 0, dff: 0 };
  const framesStarted = performance.now();
  // The frame phase is a function of its own: the frame outputs it awaits (each with its focus
  // plane, which the accumulator lets go of after the fit) must not outlive it in this one's
  // locals and settled promises.
  const addFrames = async (): Promise<Rgb8Image> => {
    // The reference enters the pool before any other frame (the others wait on its coarse
    // level), so it is handed over synchronously; the others are read and probed first.
    o.checkpoint?.();
    type Done = [i: number, out: FrameOutput];
    const inFlight = new Map<number, Promise<Done>>();
    inFlight.set(
      refIdx,
      run(refIdx, refBytes).then((out): Done => [refIdx, out]),
    );
    const ahead = order.filter((i) => i !== refIdx);
    // One frame in work per pool thread, and one more read (its download overlaps the work).
    // A frame finished early waits for the accumulator with its focus and colour planes
    // (≈ 50 MB at 12 MP): with 2 jobs of the 12 MP stack in the service, a third frame in work
    // per job peaked higher (1386–1505 against 1365–1406 MiB, 4 alternating pairs) for no
    // speed (one job: 1744–2147 against 1866–2038 ms; 640×480 within noise).
    const working = runner.threads;
    const reads = new Map<number, Promise<Uint8Array>>();
    let toRead = 0;
    let toRun = 0;
    const submit = () => {
      for (; toRead < Math.min(ahead.length, toRun + 2); toRead++) {
        const p = read(ahead[toRead]!);
        p.catch(() => {}); // observed when the frame is run (or settled on failure, below)
        reads.set(ahead[toRead]!, p);
      }
      const others = inFlight.size - (inFlight.has(refIdx) ? 1 : 0);
      if (toRun >= ahead.length || others >= working) return;
      const i = ahead[toRun++]!;
      o.checkpoint?.();
      const p = reads.get(i)!.then((bytes) => run(i, bytes).then((out): Done => [i, out]));
      reads.delete(i);
      p.catch(() => {}); // observed by the race below (or settled on failure, below)
      inFlight.set(i, p);
    };
    for (let k = 0; k < working; k++) submit();
    // While the pool decodes the first frames, this thread touches the running peak's pages.
    acc.prepare();
    // Frames are taken as they finish, not in focus order: one that finished before an earlier
    // one would otherwise hold its thread idle until that one is in (the accumulator takes any
    // order and gives the same bits). What a frame reports is kept in focus order.
    const reports = new Map<number, { reg: Registration; ranOn: Record<string, string> }>();
    let reference: Rgb8Image | undefined;
    try {
      while (inFlight.size > 0) {
        const [i, out] = await Promise.race(inFlight.values());
        inFlight.delete(i);
        submit();
        for (const k of ["decode", "registration", "dff"] as const) thread[k] += out.ms[k];
        reports.set(i, { reg: out.registration, ranOn: out.ranOn });
        if (out.inside) markOutside(out.inside, outside);
        const t = performance.now();
        const adding = acc.addInBands(bands, out.focus, out.color, rank.get(i));
        // Kept for the preview as 8-bit samples, a quarter of the floats' bytes: the decoder's
        // own when it gave 8 bits, else made while the pool adds the frame (this thread waits on
        // the frames anyway). The reference is not resampled, so its floats are its decoded
        // samples / max, and these are those bytes.
        const plane = out.color instanceof Float32Array ? out.color : out.color.samples;
        if (i === refIdx) {
          const size = { width: work.width, height: work.height };
          reference =
            plane instanceof Float32Array
              ? toRgb8({ ...size, data: plane })
              : samplesToRgb8(plane, size);
          if (priorBeside) startPrior(reference);
        }
        await adding;
        thread.dff += performance.now() - t;
        // The composite has its samples: the colour plane can serve another frame (unless it
        // is the reference's 8-bit samples, kept as they are).
        if (reference?.data !== plane) recycled.push(plane);
      }
      for (const i of order) {
        const { reg, ranOn: frameRanOn } = reports.get(i)!;
        if (i !== refIdx && !reg.trusted)
          warnings.push(
            `${frameName(i)}: registration not trusted (${reg.reason}); frame used unaligned`,
          );
        registrations.push(describeRegistration(i, capture.frames[i]!.file, diopters[i]!, reg));
        Object.assign(ranOn, frameRanOn);
      }
      return reference!;
    } finally {
      // A failed frame must not leave the others running unobserved.
      await Promise.allSettled([...inFlight.values(), ...reads.values()]);
      runner.forget(job.id);
    }
  };
  const reference = await addFrames();
  // Frame work overlaps across threads: each stage is charged its share of the wall time.
  const framesWall = performance.now() - framesStarted;
  const threadTotal = thread.decode + thread.registration + thread.dff || 1;
  for (const k of ["decode", "registration", "dff"] as const)
    timings[k] = (timings[k] ?? 0) + (framesWall * thread[k]) / threadTotal;
  ranOn.lensFit = "js";
  // Kept for the placement report (the accumulator holds the focus planes anyway).
  let lensFitInputs: { plan: LensFitPlan; focus: readonly Float32Array[] } | undefined;
  // The all-in-focus colour: the outputs need only its 8-bit samples, made (with its luma, the
  // refinement's guide) in one pass over its floats, which are not kept.
  const dff = await time("dff", async () => {
    const { allInFocus: _floats, ...rest } = await acc.finishInBands(
      bands,
      plan.lensFit === "graph"
        ? {
            async fitGrid(p, focus, grid) {
              lensFitInputs = { plan: p, focus };
              ranOn.lensFit = await fitLensGridOnGraph(p, focus, grid);
            },
            finish: finishLensFitOnGraph,
          }
        : undefined,
    );
    return rest;
  });
  const allInFocus = dff.allInFocus8;
  distrustOutside(dff.confidence, outside, radius);
  clampDepth(dff.depth.data, capture.depthRange);

  let stage: Stage = o.stage;
  let depth = dff.depth;
  const stageDepths: Partial<Record<Stage, Float32Array>> = { dff: dff.depth.data };
  let prior: Plane | undefined;
  let alignment: Alignment | undefined;
  let refined: Parameters<typeof describePlacement>[3];
  if (stage !== "dff" && !model) {
    fallbacks.push(`${stage}→dff: no depth prior model available`);
    warnings.push(
      "no depth prior model found (run npm run models:pull); ran depth from focus only",
    );
    stage = "dff";
  }
  if (stage !== "dff" && model) {
    o.checkpoint?.();
    // Started here when it takes every core: nothing else of this job runs beside it then.
    if (!priorBeside) startPrior(reference);
    const priorInverse = await priorRun!;
    prior = { width: work.width, height: work.height, data: priorInverse };
    const input = {
      dffDepth: dff.depth.data,
      confidence: dff.confidence.data,
      priorInverse,
      guide: { width: work.width, height: work.height, data: bands.share(dff.allInFocusGray.data) },
      range: capture.depthRange ?? DEFAULT_DEPTH_RANGE,
    };
    const aligned = await time("alignment", () =>
      alignInBands ? alignPriorInBands(input, bands) : alignPrior(input),
    );
    alignment = aligned.alignment;
    if (alignment.warning) warnings.push(alignment.warning);
    if (!aligned.depth) {
      fallbacks.push(`${stage}→dff: ${alignment.warning}`);
      stage = "dff";
    } else {
      stageDepths.aligned = aligned.depth;
      let final = aligned.depth;
      if (stage === "full") {
        // The TypeScript path runs in row bands on the pool; the graph path on the provider.
        const full = await time("refinement", async () =>
          refine === "solve"
            ? { data: refineAlignedGlobal(input, final), ranOn: "js" as const }
            : plan.refinement === "graph"
              ? fusion.refineAligned(input, final)
              : { data: await refineAlignedInBands(input, bands.share(final), bands), ranOn: "js" },
        );
        ranOn.refinement = full.ranOn;
        stageDepths.full = full.data;
        final = full.data;
        refined = { input, aligned: aligned.depth };
      }
      depth = { width: work.width, height: work.height, data: final };
    }
  }

  if (dff.blur.kind === "fitted" && dff.blur.bound) {
    const at = `${describeBlur(dff.blur).blurPxPerDiopter} px per diopter`;
    const why =
      dff.blur.bound === "lowest"
        ? `blur fitted at the lowest scale tried (${at}): the stack shows too little defocus at this size to tell its blur`
        : `blur fitted past what the model measures (${at}): no scale explains the focus curves`;
    warnings.push(
      `${why}, so depth from focus is unreliable; the capture's camera (f-number, focal length, sensor width) sets the blur instead`,
    );
  }
  const confident = countAtLeast(dff.confidence.data, CONFIDENT_THRESHOLD);
  const coverage = confident / dff.confidence.data.length;
  if (coverage < 0.05)
    warnings.push(
      `only ${(coverage * 100).toFixed(1)}% of pixels have a confident focus peak: little texture or too little defocus`,
    );
  const fusionUsed: FusionUsed = { path: planPath(plan), stages: ranOn };
  if (fusionUsed.path !== "js" && (o.placement ?? placementAsked()))
    fusionUsed.placement = await describePlacement(plan, reference, radius, refined, lensFitInputs);
  timings.total = performance.now() - started;

  const focusM = Array.from(diopters, (d) => 1 / d);
  const result: PipelineResult = {
    pipelineVersion: PIPELINE_VERSION,
    stage,
    requestedStage: o.stage,
    width: work.width,
    height: work.height,
    sourceWidth: sourceSize.width,
    sourceHeight: sourceSize.height,
    referenceFrame: refIdx,
    focusDistancesM: focusM,
    depthRangeM:
      capture.depthRange ??
      (stage === "dff"
        ? { min: Math.min(...focusM), max: Math.max(...focusM) }
        : DEFAULT_DEPTH_RANGE),
    scale: alignment && alignment.fallback !== "none" ? alignment.scale : null,
    shift: alignment && alignment.fallback !== "none" ? alignment.shift : null,
    model: prior ? o.prior!.name : null,
    modelSha256: prior ? (o.prior!.sha256 ?? null) : null,
    provider: prior ? o.prior!.provider : null,
    alignment: alignment
      ? {
          used: alignment.used,
          inlierFraction: Math.round(alignment.inlierFraction * 1e4) / 1e4,
          fallback: alignment.fallback ?? null,
        }
      : null,
    fallbacks,
    coverage,
    optics: describeBlur(dff.blur),
    fusion: fusionUsed,
    timingsMs: Object.fromEntries(
      Object.entries(timings).map(([k, v]) => [k, Math.round(v * 10) / 10]),
    ),
    registration: registrations.sort((a, b) => a.frame - b.frame),
    warnings,
  };
  // Nothing non-finite is ever served as a result (a depth of +Infinity m is no answer).
  for (const [name, d] of Object.entries(stageDepths)) if (d) assertFinite(`depth (${name})`, d);
  return {
    depth,
    confidence: dff.confidence,
    allInFocus,
    reference,
    result,
    stageDepths,
    ...(prior ? { prior } : {}),
  };
}

/** Adds the pixels a warped frame did not cover to `outside`. */
function markOutside(inside: Uint8Array, outside: Uint8Array): void {
  // A warped frame misses a thin border at most: a native scan jumps from one miss to the next.
  for (let p = inside.indexOf(0); p >= 0; p = inside.indexOf(0, p + 1)) outside[p] = 1;
}

/** Zero confidence wherever a frame was missing, and within one focus window of it. */
function distrustOutside(confidence: Plane, outside: Uint8Array, radius: number): void {
  zeroNear(confidence.data, outside, confidence.width, confidence.height, radius);
}

function clampDepth(depth: Float32Array, range: { min: number; max: number } | undefined): void {
  if (!range) return;
  for (let i = 0; i < depth.length; i++)
    depth[i] = Math.min(range.max, Math.max(range.min, depth[i]!));
}

function describeRegistration(
  frame: number,
  file: string,
  diopter: number,
  r: Registration,
): FrameRegistration {
  const round = (v: number, k = 4) => Math.round(v * 10 ** k) / 10 ** k;
  return {
    frame,
    file,
    focusDistanceM: round(1 / diopter),
    scale: round(similarityScale(r.transform), 5),
    rotationDeg: round((similarityRotation(r.transform) * 180) / Math.PI, 3),
    shiftPx: [round(r.transform.tx, 2), round(r.transform.ty, 2)],
    ncc: round(r.ncc),
    nccIdentity: round(r.nccIdentity),
    residual: round(r.residual, 5),
    trusted: r.trusted,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}
