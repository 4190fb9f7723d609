import { median } from "../math/stats.ts";
import { type BandSteps, bandStep, plainAlloc, runStepsInline } from "../pipeline/bandSteps.ts";

export interface AlignOptions {
  /** Pixels below this confidence are not used. */
  minConfidence: number;
  /** Fewer usable pixels than this is a degenerate fit. */
  minPixels: number;
  /** At most this many pixels enter the fit (evenly strided): the fit is global, not local. */
  maxSamples: number;
  iterations: number;
}

export const DEFAULT_ALIGN: AlignOptions = {
  minConfidence: 0.05,
  minPixels: 200,
  maxSamples: 20_000,
  iterations: 12,
};

export interface Alignment {
  /** prior·scale + shift ≈ target, in the fit space (inverse depth). */
  scale: number;
  shift: number;
  /** Pixels that entered the fit, and the fraction of them the robust weights kept (> 0.5). */
  used: number;
  inlierFraction: number;
  /** Set when the full fit was not usable and a simpler one (or none) was used. */
  fallback?: "scale-only" | "none";
  warning?: string;
}

/**
 * Robust, confidence-weighted least squares of `target ≈ s·prior + t` (HybridDepth fits
 * unweighted over all pixels): weights are DFF confidence times Tukey's biweight of the
 * residual (IRLS, scale from the MAD), so wrong focus peaks and the prior's own artefacts do
 * not pull the fit. Degenerate input (too few confident pixels, no spread, negative scale) falls
 * back to a scale-only fit, then to none, with a warning; never NaN.
 */
export function alignScaleShift(
  prior: Float32Array,
  target: Float32Array,
  confidence: Float32Array,
  options: Partial<AlignOptions> = {},
): Alignment {
  const planes = { prior, target, fromDepth: false, confidence };
  return runStepsInline(alignScaleShiftSteps(planes, prior.length, 1, options, plainAlloc));
}

/** The planes `alignScaleShift` reads, `target` given as inverse depth or (`fromDepth`) depth. */
export interface AlignPlanes {
  prior: Float32Array;
  /** Target inverse depth, or with `fromDepth` a depth whose float32 reciprocal is the target. */
  target: Float32Array;
  fromDepth: boolean;
  confidence: Float32Array;
}

/**
 * `alignScaleShift` over a w×h image as row-band steps (the same bits for any split): the bands
 * count each row's usable pixels, then take every stride-th of them by its ordinal among all
 * usable pixels; the fit on those samples runs on this thread.
 */
export function* alignScaleShiftSteps(
  planes: AlignPlanes,
  w: number,
  h: number,
  options: Partial<AlignOptions>,
  alloc: (length: number) => Float32Array,
): BandSteps<Alignment> {
  const o = { ...DEFAULT_ALIGN, ...options };
  // Usable: a confident peak, a finite positive target and a finite prior. Counted first, then
  // every stride-th usable pixel is taken.
  const rowStart = int32In(alloc(h));
  const scan = { ...planes, w, minConfidence: o.minConfidence, rowStart };
  yield bandStep(countUsableRows, scan, h);
  let count = 0;
  for (let y = 0; y < h; y++) {
    const c = rowStart[y]!;
    rowStart[y] = count;
    count += c;
  }
  if (count < o.minPixels) {
    return none(
      `only ${count} pixels have a usable focus peak (need ${o.minPixels}): prior not aligned`,
    );
  }
  const stride = Math.max(1, Math.floor(count / o.maxSamples));
  const n = Math.ceil(count / stride);
  const samples = { x: alloc(n), y: alloc(n), c: alloc(n) };
  yield bandStep(takeSampleRows, { ...scan, stride, ...samples }, h);
  return fitScaleShift(samples.x, samples.y, samples.c, o.iterations);
}

/** An Int32Array over `plane`'s memory (shared when it is). */
function int32In(plane: Float32Array): Int32Array {
  return new Int32Array(plane.buffer, plane.byteOffset, plane.length);
}

export interface AlignScanArgs extends AlignPlanes {
  w: number;
  minConfidence: number;
  /** Each row's count of usable pixels (`countUsableRows`), then the ordinal of its first. */
  rowStart: Int32Array;
}

/**
 * The target inverse depth at pixel i where it enters the fit (a confident peak, a finite
 * positive target and a finite prior: v − v is 0 only for finite v), else NaN.
 */
function usableTarget(a: AlignScanArgs, i: number): number {
  const t = a.fromDepth ? Math.fround(1 / a.target[i]!) : a.target[i]!;
  const p = a.prior[i]!;
  return a.confidence[i]! >= a.minConfidence && t > 0 && t - t === 0 && p - p === 0
    ? t
    : Number.NaN;
}

/** Rows [y0, y1): each row's count of usable pixels into `rowStart`. */
export function countUsableRows(a: AlignScanArgs, y0: number, y1: number): void {
  const { w } = a;
  for (let y = y0; y < y1; y++) {
    let count = 0;
    for (let i = y * w, end = i + w; i < end; i++) if (usableTarget(a, i) >= 0) count++;
    a.rowStart[y] = count;
  }
}

export interface AlignTakeArgs extends AlignScanArgs {
  stride: number;
  x: Float32Array;
  y: Float32Array;
  c: Float32Array;
}

/** Rows [y0, y1): the usable pixels whose ordinal is a multiple of the stride, at ordinal / stride. */
export function takeSampleRows(a: AlignTakeArgs, y0: number, y1: number): void {
  const { w, prior, confidence, stride, x, y: yv, c } = a;
  for (let y = y0; y < y1; y++) {
    let j = a.rowStart[y]!;
    for (let i = y * w, end = i + w; i < end; i++) {
      const t = usableTarget(a, i);
      if (!(t >= 0)) continue;
      if (j % stride === 0) {
        const k = j / stride;
        x[k] = prior[i]!;
        yv[k] = t;
        c[k] = confidence[i]!;
      }
      j++;
    }
  }
}

/** The IRLS fit on the samples, with its fallbacks. */
function fitScaleShift(
  x: Float32Array,
  y: Float32Array,
  c: Float32Array,
  iterations: number,
): Alignment {
  const n = x.length;
  const robust = new Float64Array(n).fill(1);
  const r = new Float64Array(n);
  const madStride = Math.max(1, Math.floor(n / 5000));
  const mad = new Float64Array(Math.floor((n - 1) / madStride) + 1);
  let s = 0;
  let t = 0;
  for (let it = 0; it < iterations; it++) {
    const fit = weightedLine(x, y, c, robust);
    if (!fit) break;
    const settled =
      Math.abs(fit.s - s) <= 1e-6 * Math.abs(fit.s) &&
      Math.abs(fit.t - t) <= 1e-6 * (Math.abs(fit.t) + Math.abs(fit.s));
    s = fit.s;
    t = fit.t;
    if (settled) break;
    // Tukey biweight at 4.685 robust sigmas of the residuals.
    for (let k = 0; k < n; k++) r[k] = Math.abs(y[k]! - (s * x[k]! + t));
    // The residuals' scale from an even subsample: a median needs no 20,000 values.
    for (let k = 0; k < mad.length; k++) mad[k] = r[k * madStride]!;
    const sigma = 1.4826 * median(mad) || 1e-12;
    const cut = 4.685 * sigma;
    for (let k = 0; k < n; k++) {
      const u = r[k]! / cut;
      robust[k] = u < 1 ? (1 - u * u) ** 2 : 0;
    }
  }
  let inliers = 0;
  for (let k = 0; k < n; k++) if (robust[k]! > 0.5) inliers++;
  if (s > 0 && Number.isFinite(s) && Number.isFinite(t))
    return { scale: s, shift: t, used: n, inlierFraction: inliers / n };

  // Scale only: the median ratio is robust and positive whenever most pairs agree in sign.
  const ratios: number[] = [];
  for (let k = 0; k < n; k++) if (x[k]! > 0) ratios.push(y[k]! / x[k]!);
  const m = median(ratios);
  if (m > 0 && Number.isFinite(m)) {
    return {
      scale: m,
      shift: 0,
      used: n,
      inlierFraction: inliers / n,
      fallback: "scale-only",
      warning: `scale/shift fit was degenerate (scale ${fmt(s)}): used a scale-only fit`,
    };
  }
  return none(
    `no positive scale fits the prior to depth from focus (scale ${fmt(s)}): prior not aligned`,
  );
}

function none(warning: string): Alignment {
  return { scale: 1, shift: 0, used: 0, inlierFraction: 0, fallback: "none", warning };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(3) : String(v);
}

/** Weighted least-squares line through (x, y) with weights c·w; undefined if x has no spread. */
function weightedLine(
  x: Float32Array,
  y: Float32Array,
  c: Float32Array,
  w: Float64Array,
): { s: number; t: number } | undefined {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < x.length; k++) {
    const wk = c[k]! * w[k]!;
    sw += wk;
    sx += wk * x[k]!;
    sy += wk * y[k]!;
  }
  if (!(sw > 0)) return undefined;
  const mx = sx / sw;
  const my = sy / sw;
  let sxx = 0;
  let sxy = 0;
  for (let k = 0; k < x.length; k++) {
    const wk = c[k]! * w[k]!;
    const dx = x[k]! - mx;
    sxx += wk * dx * dx;
    sxy += wk * dx * (y[k]! - my);
  }
  if (!(sxx > 1e-12 * sw * (mx * mx + 1e-12))) return undefined;
  const s = sxy / sxx;
  return { s, t: my - s * mx };
}

/** Applies an alignment in inverse depth: depth = 1/(s·prior + t), clamped to [min, max]. */
export function applyAlignment(
  prior: Float32Array,
  a: { scale: number; shift: number },
  range: { min: number; max: number },
  beyond?: Float32Array,
): Float32Array {
  const out = new Float32Array(prior.length);
  const { scale, shift } = a;
  applyAlignmentRows({ w: prior.length, prior, scale, shift, ...range, beyond, out }, 0, 1);
  return out;
}

export interface ApplyAlignmentArgs {
  w: number;
  prior: Float32Array;
  scale: number;
  shift: number;
  min: number;
  max: number;
  /** Taken where the fit extrapolates past the far limit (else the far limit is). */
  beyond?: Float32Array | undefined;
  out: Float32Array;
}

/** Rows [y0, y1) of `applyAlignment`. */
export function applyAlignmentRows(a: ApplyAlignmentArgs, y0: number, y1: number): void {
  const { prior, scale, shift, min, max, beyond, out } = a;
  for (let i = y0 * a.w, end = y1 * a.w; i < end; i++) {
    const inv = scale * prior[i]! + shift;
    // Past the far limit (or past infinity) the fit is extrapolating beyond anything the focus
    // evidence supports: take `beyond` (depth from focus) there when given, else the far limit.
    out[i] =
      inv > 1 / max
        ? Math.max(min, 1 / inv)
        : beyond
          ? Math.min(max, Math.max(min, beyond[i]!))
          : max;
  }
}
