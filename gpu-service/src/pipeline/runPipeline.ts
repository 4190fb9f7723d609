import { focusDiopters, referenceIndex } from "#shared/capture/parse.ts";
import type { Stage } from "#shared/capture/schema.ts";
import { DffAccumulator } from "#shared/dff/accumulator.ts";
import { defaultWindowRadius, focusMeasure } from "#shared/dff/focusMeasure.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { Alignment } from "#shared/fusion/alignScaleShift.ts";
import { alignPrior, refineAligned } from "#shared/fusion/fuse.ts";
import { boxMean } from "#shared/image/boxFilter.ts";
import { type Plane, type RgbImage, toGray } from "#shared/image/types.ts";
import {
  IDENTITY,
  type Similarity,
  similarityRotation,
  similarityScale,
  warpSimilarity,
} from "#shared/image/warp.ts";
import { assertFinite } from "#shared/pipeline/finite.ts";
import {
  CONFIDENT_THRESHOLD,
  type FrameRegistration,
  type PipelineResult,
} from "#shared/pipeline/result.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import { Registrar, type Registration } from "#shared/registration/similarity.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import {
  DEFAULT_MAX_FRAME_PIXELS,
  decodeRgb,
  type ImageSize,
  probeImage,
} from "../io/decodeImage.ts";
import type { Prior } from "../prior/priorRunner.ts";

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
}

/** 3.2 MP (e.g. 2048×1536): the phone stack's finest detail at a bounded memory (~0.4 GB). */
export const DEFAULT_MAX_WORK_PIXELS = 3_200_000;

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
  allInFocus: RgbImage;
  reference: RgbImage;
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
    const t = performance.now();
    try {
      return await f();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + performance.now() - t;
    }
  };

  const sourceSize = await time("decode", () => probeFrames(source, o.maxFramePixels));
  const work = workSize(sourceSize, o.maxWorkPixels);
  const diopters = focusDiopters(capture);
  const order = Array.from(diopters.keys()).sort((a, b) => diopters[a]! - diopters[b]!);
  const refIdx = referenceIndex(capture);
  const frameName = (i: number) => `frame ${i} (${capture.frames[i]!.file})`;
  const decode = async (i: number) =>
    decodeRgb(await source.readFrame(i), frameName(i), work, o.maxFramePixels);

  const reference = await time("decode", () => decode(refIdx));
  const refGray = toGray(reference);
  const registrar = await time("registration", () => new Registrar(refGray));
  // Pixels some registered frame does not cover: their focus curve is incomplete.
  const outside = new Uint8Array(work.width * work.height);
  const inside = new Uint8Array(work.width * work.height);
  const acc = new DffAccumulator(
    work.width,
    work.height,
    order.map((i) => diopters[i]!),
  );
  const radius = o.windowRadius ?? defaultWindowRadius(work.width, work.height);
  const registrations: FrameRegistration[] = [];
  // Per-frame planes, reused from frame to frame: the accumulator copies what it keeps, and
  // fresh large arrays cost page faults and garbage collection at every frame.
  const n = work.width * work.height;
  const focusBuffer = new Float32Array(n);
  let warpedFocus: Float32Array | undefined;
  let warpedColor: Float32Array | undefined;

  for (const i of order) {
    const rgb = i === refIdx ? reference : await time("decode", () => decode(i));
    const gray = i === refIdx ? refGray : toGray(rgb);
    let reg: Registration = {
      transform: { ...IDENTITY },
      trusted: true,
      ncc: 1,
      nccIdentity: 1,
      residual: 0,
    };
    if (i !== refIdx && o.register) {
      reg = await time("registration", () => registrar.register(gray));
      if (!reg.trusted)
        warnings.push(
          `${frameName(i)}: registration not trusted (${reg.reason}); frame used unaligned`,
        );
    }
    registrations.push(describeRegistration(i, capture.frames[i]!.file, diopters[i]!, reg));
    // Focus is measured on the frame as captured and the smooth focus map is warped, never the
    // image: resampling an image low-passes it and would bias every warped frame towards "blurred".
    let focus = await time("dff", () => focusMeasure(gray, radius, focusBuffer));
    let color = rgb.data;
    if (!isIdentity(reg.transform)) {
      await time("registration", () => {
        warpedFocus ??= new Float32Array(n);
        warpedColor ??= new Float32Array(3 * n);
        const { width: w, height: h } = work;
        focus = warpSimilarity(focus, w, h, 1, reg.transform, warpedFocus, inside);
        markOutside(inside, outside);
        color = warpSimilarity(rgb.data, w, h, 3, reg.transform, warpedColor);
      });
    }
    await time("dff", () => acc.add(focus, color));
  }
  const dff = await time("dff", () => acc.finish());
  distrustOutside(dff.confidence, outside, radius);
  clampDepth(dff.depth.data, capture.depthRange);

  let stage: Stage = o.stage;
  let depth = dff.depth;
  const stageDepths: Partial<Record<Stage, Float32Array>> = { dff: dff.depth.data };
  let prior: Plane | undefined;
  let alignment: Alignment | undefined;
  if (stage !== "dff" && !o.prior) {
    fallbacks.push(`${stage}→dff: no depth prior model available`);
    warnings.push(
      "no depth prior model found (run npm run models:pull); ran depth from focus only",
    );
    stage = "dff";
  }
  if (stage !== "dff" && o.prior) {
    const model = o.prior;
    const priorInverse = await time("prior", () => model.infer(dff.allInFocus));
    prior = { width: work.width, height: work.height, data: priorInverse };
    const input = {
      dffDepth: dff.depth.data,
      confidence: dff.confidence.data,
      priorInverse,
      guide: toGray(dff.allInFocus),
      range: capture.depthRange ?? DEFAULT_DEPTH_RANGE,
    };
    const aligned = await time("alignment", () => alignPrior(input));
    alignment = aligned.alignment;
    if (alignment.warning) warnings.push(alignment.warning);
    if (!aligned.depth) {
      fallbacks.push(`${stage}→dff: ${alignment.warning}`);
      stage = "dff";
    } else {
      stageDepths.aligned = aligned.depth;
      let final = aligned.depth;
      if (stage === "full") {
        const full = await time("refinement", () => refineAligned(input, final));
        stageDepths.full = full;
        final = full;
      }
      depth = { width: work.width, height: work.height, data: final };
    }
  }

  let confident = 0;
  for (const c of dff.confidence.data) if (c >= CONFIDENT_THRESHOLD) confident++;
  const coverage = confident / dff.confidence.data.length;
  if (coverage < 0.05)
    warnings.push(
      `only ${(coverage * 100).toFixed(1)}% of pixels have a confident focus peak: little texture or too little defocus`,
    );
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
    allInFocus: dff.allInFocus,
    reference,
    result,
    stageDepths,
    ...(prior ? { prior } : {}),
  };
}

/** Reads every frame's header: all must be JPEG/PNG of one size within the pixel limit. */
async function probeFrames(source: CaptureSource, maxPixels: number): Promise<ImageSize> {
  const { frames } = source.capture;
  let first: ImageSize | undefined;
  for (let i = 0; i < frames.length; i++) {
    const size = await probeImage(
      await source.readFrame(i),
      `frame ${i} (${frames[i]!.file})`,
      maxPixels,
    );
    if (!first) first = size;
    else if (size.width !== first.width || size.height !== first.height) {
      throw new HybridDepthError(
        "FRAME_SIZE_MISMATCH",
        `frame ${i} (${frames[i]!.file}) is ${size.width}×${size.height} but frame 0 (${frames[0]!.file}) is ${first.width}×${first.height}`,
      );
    }
  }
  return first!;
}

/** The largest size of the source's aspect ratio with at most `maxPixels` pixels (never upscaled). */
export function workSize(src: ImageSize, maxPixels: number): ImageSize {
  const f = Math.min(1, Math.sqrt(maxPixels / (src.width * src.height)));
  return {
    width: Math.max(1, Math.round(src.width * f)),
    height: Math.max(1, Math.round(src.height * f)),
  };
}

/** Adds the pixels a warped frame did not cover to `outside`. */
function markOutside(inside: Uint8Array, outside: Uint8Array): void {
  for (let p = 0; p < inside.length; p++) if (!inside[p]) outside[p] = 1;
}

/** Zero confidence wherever a frame was missing, and within one focus window of it. */
function distrustOutside(confidence: Plane, outside: Uint8Array, radius: number): void {
  if (!outside.includes(1)) return;
  const near = new Float32Array(outside); // a typed-array copy: no per-element iteration
  boxMean(near, confidence.width, confidence.height, radius, near);
  for (let i = 0; i < near.length; i++) if (near[i]! > 0) confidence.data[i] = 0;
}

function isIdentity(t: Similarity): boolean {
  return t.a === 0 && t.b === 0 && t.tx === 0 && t.ty === 0;
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
