import type { Plane } from "../image/types.ts";
import { quantile } from "../math/stats.ts";
import { type BandSteps, bandStep, plainAlloc, runStepsInline } from "../pipeline/bandSteps.ts";
import type { BandRunner } from "../pipeline/rowBands.ts";
import { type Alignment, alignScaleShiftSteps, applyAlignmentRows } from "./alignScaleShift.ts";
import { type GlobalSolveOptions, solveLogScaleMap } from "./globalScaleSolve.ts";
import { clampRangeRows, suppressPriorArtefactsSteps } from "./priorArtefacts.ts";
import {
  DEFAULT_REFINE,
  evidenceWeight,
  logScaleMapSteps,
  type RefineOptions,
} from "./refineScaleMap.ts";

/**
 * Refinement, coarse to fine: first every focus peak counts alike over a wide window (weak
 * defocus still averages out to a usable local scale), then confident peaks sharpen it along
 * image edges over a narrow one, where "no correction" holds unless focus evidence is strong.
 */
export const REFINE_PASSES: readonly Partial<RefineOptions>[] = [
  { radiusFraction: 1 / 24, confidencePower: 0, priorWeight: 0.005 },
  { radiusFraction: 1 / 64, confidencePower: 2, priorWeight: 0.05 },
];

export interface FusionInput {
  /** Depth from focus (m) and its confidence (0..1). */
  dffDepth: Float32Array;
  confidence: Float32Array;
  /** The prior's relative inverse depth. */
  priorInverse: Float32Array;
  /** Gray reference image whose edges the refinement follows. */
  guide: Plane;
  /** Output depths are clamped to this (m). */
  range: { min: number; max: number };
}

export interface AlignedPrior {
  alignment: Alignment;
  /** Prior aligned globally (m); undefined when no alignment was possible. */
  depth?: Float32Array;
}

/**
 * HybridDepth step 1: robust, confidence-weighted global fit of the prior to depth from focus,
 * after the prior's own border and hot-spot artefacts are suppressed (priorArtefacts.ts).
 */
export function alignPrior(input: FusionInput): AlignedPrior {
  return runStepsInline(alignPriorSteps(input, plainAlloc));
}

/**
 * `alignPrior` with its per-pixel passes in row bands on `bands` (the same bits for any split).
 * The input planes must be `bands`' shared ones (`BandRunner.share`).
 */
export function alignPriorInBands(input: FusionInput, bands: BandRunner): Promise<AlignedPrior> {
  return bands.steps(alignPriorSteps(input, (length) => bands.alloc(length)));
}

function* alignPriorSteps(
  input: FusionInput,
  alloc: (length: number) => Float32Array,
): BandSteps<AlignedPrior> {
  const { dffDepth, confidence, range, guide } = input;
  const { width: w, height: h } = guide;
  const prior = yield* suppressPriorArtefactsSteps(
    { width: w, height: h, data: input.priorInverse },
    alloc,
  );
  // The target is 1 / dffDepth, taken where a sample needs it rather than kept as a plane.
  const planes = { prior, target: dffDepth, fromDepth: true, confidence };
  const alignment = yield* alignScaleShiftSteps(planes, w, h, {}, alloc);
  if (alignment.fallback === "none") return { alignment };
  const depth = alloc(w * h);
  const { scale, shift } = alignment;
  yield bandStep(
    applyAlignmentRows,
    { w, prior, scale, shift, ...range, beyond: dffDepth, out: depth },
    h,
  );
  yield* limitFarOutliersSteps(depth, range, w, h);
  return { alignment, depth };
}

/** Share of pixels whose depth bounds how far the rest may be (see limitFarOutliers). */
const FAR_QUANTILE = 0.01;

/**
 * A prior's small blotches of near-zero inverse depth become enormous depths once shifted
 * (a 3×3 patch at 55 m in a 3 m room). No pixel is put more than twice as far as the farthest
 * 1% of the scene: a far region as big as that (sky through a window) sets the bound itself.
 */
export function limitFarOutliers(depth: Float32Array, range: { min: number; max: number }): void {
  runStepsInline(limitFarOutliersSteps(depth, range, depth.length, 1));
}

/** `limitFarOutliers` of a w×h plane, the bound found here and applied in row bands. */
function* limitFarOutliersSteps(
  depth: Float32Array,
  range: { min: number; max: number },
  w: number,
  h: number,
): BandSteps<void> {
  const step = Math.max(1, Math.floor(depth.length / 50_000));
  const sample = new Float32Array(Math.ceil(depth.length / step));
  for (let i = 0, k = 0; i < depth.length; i += step, k++) sample[k] = depth[i]!;
  const far = quantile(sample, 1 - FAR_QUANTILE);
  if (!Number.isFinite(far)) return;
  const max = Math.min(range.max, 2 * far);
  yield bandStep(
    clampRangeRows,
    { w, src: depth, dst: depth, min: Number.NEGATIVE_INFINITY, max },
    h,
  );
}

/** HybridDepth step 2: the aligned depth times a refined, edge-aware scale map (m). */
export function refineAligned(input: FusionInput, aligned: Float32Array): Float32Array {
  return runStepsInline(refineAlignedSteps(input, aligned, plainAlloc));
}

/**
 * `refineAligned` with its per-pixel work in row bands on `bands` (the same bits for any split).
 * The input planes must be `bands`' shared ones (`BandRunner.share`).
 */
export async function refineAlignedInBands(
  input: FusionInput,
  aligned: Float32Array,
  bands: BandRunner,
): Promise<Float32Array> {
  return bands.steps(refineAlignedSteps(input, aligned, (length) => bands.alloc(length)));
}

function* refineAlignedSteps(
  input: FusionInput,
  aligned: Float32Array,
  alloc: (length: number) => Float32Array,
): BandSteps<Float32Array> {
  const { dffDepth, confidence, guide, range } = input;
  const n = aligned.length;
  const { width: w, height: h } = guide;
  // The passes chain in logs: each one's evidence is ln(DFF / aligned inverse depth) less the
  // log scale found so far, and the final depth is the aligned one over exp(total log scale).
  // NaN marks pixels without evidence (no focus peak, or a depth that is not positive and finite).
  const evidence = alloc(n);
  yield bandStep(refineEvidenceRows, { w, aligned, dffDepth, confidence, evidence }, h);
  const logScale = alloc(n);
  const weight = alloc(n);
  // Each pass's evidence, then (in place) its log scale, added to `logScale` on the next sweep.
  const pass = alloc(n);
  for (const options of REFINE_PASSES) {
    const power = options.confidencePower ?? DEFAULT_REFINE.confidencePower;
    yield bandStep(refinePassRows, { w, logScale, pass, evidence, weight, confidence, power }, h);
    yield* logScaleMapSteps(pass, weight, guide, options, pass, alloc);
  }
  // The depth is written over the log scale, its last use.
  const full = logScale;
  yield bandStep(refineDepthRows, { w, aligned, logScale, pass, full, ...range }, h);
  yield* limitFarOutliersSteps(full, range, w, h);
  return full;
}

/** Confidence is capped here before it becomes an inverse variance (c / (1 − c)). */
const MAX_SOLVE_CONFIDENCE = 0.99;

/**
 * HybridDepth step 2 as one global solve (globalScaleSolve.ts): every focus pixel's evidence
 * ln(DFF / aligned inverse depth) weighted by its inverse relative variance, c / (1 − c) (from
 * confidence = τ² / (τ² + σ²), so in units of 1/τ²), spread along the reference image and the
 * prior's own surfaces. The aligned depth times the solved scale map (m).
 */
export function refineAlignedGlobal(
  input: FusionInput,
  aligned: Float32Array,
  options: Partial<GlobalSolveOptions> = {},
): Float32Array {
  const { dffDepth, confidence, guide, range } = input;
  const n = aligned.length;
  const evidence = new Float32Array(n);
  refineEvidenceRows({ w: guide.width, aligned, dffDepth, confidence, evidence }, 0, guide.height);
  const weight = new Float32Array(n);
  const logRatio = new Float32Array(n);
  const priorLog = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = evidence[i]!;
    const c = Math.min(MAX_SOLVE_CONFIDENCE, confidence[i]!);
    if (!Number.isNaN(e)) {
      weight[i] = c / (1 - c);
      logRatio[i] = e;
    }
    priorLog[i] = aligned[i]! > 0 ? Math.log(aligned[i]!) : 0;
  }
  const { logScale } = solveLogScaleMap(logRatio, weight, guide, priorLog, options);
  const full = new Float32Array(n);
  for (let i = 0; i < n; i++)
    full[i] = Math.min(range.max, Math.max(range.min, aligned[i]! * Math.exp(-logScale[i]!)));
  limitFarOutliers(full, range);
  return full;
}

/** ln(aligned / DFF depth) where both are usable and DFF has a peak, else NaN: rows [y0, y1). */
export function refineEvidenceRows(
  p: {
    w: number;
    aligned: Float32Array;
    dffDepth: Float32Array;
    confidence: Float32Array;
    evidence: Float32Array;
  },
  y0: number,
  y1: number,
): void {
  const { aligned, dffDepth, confidence, evidence } = p;
  for (let i = y0 * p.w, end = y1 * p.w; i < end; i++) {
    const a = aligned[i]!;
    const d = dffDepth[i]!;
    const usable = a > 0 && d > 0 && a < Number.POSITIVE_INFINITY && d < Number.POSITIVE_INFINITY;
    evidence[i] = usable && confidence[i]! > 0 ? Math.log(a / d) : Number.NaN;
  }
}

/** One refinement pass's evidence and weights, the previous pass added in: rows [y0, y1). */
export function refinePassRows(
  p: {
    w: number;
    logScale: Float32Array;
    pass: Float32Array;
    evidence: Float32Array;
    weight: Float32Array;
    confidence: Float32Array;
    power: number;
  },
  y0: number,
  y1: number,
): void {
  const { logScale, pass, evidence, weight, confidence, power } = p;
  for (let i = y0 * p.w, end = y1 * p.w; i < end; i++) {
    const l = logScale[i]! + pass[i]!;
    const e = evidence[i]!;
    logScale[i] = l;
    pass[i] = e - l;
    weight[i] = Number.isNaN(e) ? 0 : evidenceWeight(confidence[i]!, power);
  }
}

/** The aligned depth over exp(total log scale), clamped to the range: rows [y0, y1). */
export function refineDepthRows(
  p: {
    w: number;
    aligned: Float32Array;
    logScale: Float32Array;
    pass: Float32Array;
    full: Float32Array;
    min: number;
    max: number;
  },
  y0: number,
  y1: number,
): void {
  const { aligned, logScale, pass, full, min, max } = p;
  for (let i = y0 * p.w, end = y1 * p.w; i < end; i++) {
    const depth = aligned[i]! * Math.exp(-(logScale[i]! + pass[i]!));
    full[i] = Math.min(max, Math.max(min, depth));
  }
}
