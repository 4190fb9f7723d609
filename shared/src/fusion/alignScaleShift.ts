import { median } from "../math/stats.ts";

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
  const o = { ...DEFAULT_ALIGN, ...options };
  // Usable: a confident peak, a finite positive target and a finite prior (v − v is 0 only
  // for finite v). Counted first, then every stride-th usable pixel is taken.
  const usable = new Uint8Array(prior.length);
  let count = 0;
  for (let i = 0; i < prior.length; i++) {
    const t = target[i]!;
    const p = prior[i]!;
    if (confidence[i]! >= o.minConfidence && t > 0 && t - t === 0 && p - p === 0) {
      usable[i] = 1;
      count++;
    }
  }
  if (count < o.minPixels) {
    return none(
      `only ${count} pixels have a usable focus peak (need ${o.minPixels}): prior not aligned`,
    );
  }
  const stride = Math.max(1, Math.floor(count / o.maxSamples));
  const n = Math.ceil(count / stride);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const c = new Float64Array(n);
  for (let i = 0, skip = 0, k = 0; i < prior.length && k < n; i++) {
    if (!usable[i]) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    skip = stride - 1;
    x[k] = prior[i]!;
    y[k] = target[i]!;
    c[k] = confidence[i]!;
    k++;
  }
  const robust = new Float64Array(n).fill(1);
  const r = new Float64Array(n);
  const madStride = Math.max(1, Math.floor(n / 5000));
  const mad = new Float64Array(Math.floor((n - 1) / madStride) + 1);
  let s = 0;
  let t = 0;
  for (let it = 0; it < o.iterations; it++) {
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
  x: Float64Array,
  y: Float64Array,
  c: Float64Array,
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
  for (let i = 0; i < prior.length; i++) {
    const inv = a.scale * prior[i]! + a.shift;
    // Past the far limit (or past infinity) the fit is extrapolating beyond anything the focus
    // evidence supports: take `beyond` (depth from focus) there when given, else the far limit.
    out[i] =
      inv > 1 / range.max
        ? Math.max(range.min, 1 / inv)
        : beyond
          ? Math.min(range.max, Math.max(range.min, beyond[i]!))
          : range.max;
  }
  return out;
}
