import { boxMean } from "../image/boxFilter.ts";
import type { Plane } from "../image/types.ts";
import { type BandSteps, bandStep, plainAlloc, runStepsInline } from "../pipeline/bandSteps.ts";

export interface RefineOptions {
  /** Window radius of the edge-aware filter, as a fraction of the image's short side. */
  radiusFraction: number;
  /** Guided-filter regularisation (in squared guide units): larger = smoother, less edge-following. */
  epsilon: number;
  /**
   * Pseudo-confidence of "no correction" at every pixel: where focus evidence is thin the
   * scale map returns to the global fit instead of extrapolating.
   */
  priorWeight: number;
  /** Focus evidence is weighted by confidence to this power (0: every pixel with a peak counts alike). */
  confidencePower: number;
  /** Corrections are limited to this factor either way (inverse depth). */
  maxFactor: number;
}

export const DEFAULT_REFINE: RefineOptions = {
  radiusFraction: 1 / 24,
  epsilon: 1e-3,
  priorWeight: 0.005,
  confidencePower: 1,
  maxFactor: 3,
};

/**
 * Dense per-pixel scale map from sparse, confident focus evidence. At each pixel with depth from
 * focus the log ratio of DFF inverse depth to the aligned prior's is a local scale correction;
 * a confidence-weighted guided filter on the reference image spreads it along image structure
 * (edges stop it), and it fades to 1 where no confident pixel is near. Returns the map
 * (multiply the aligned inverse depth by it).
 */
export function refineScaleMap(
  alignedInverse: Float32Array,
  dffInverse: Float32Array,
  confidence: Float32Array,
  guide: Plane,
  options: Partial<RefineOptions> = {},
): Float32Array {
  const o = { ...DEFAULT_REFINE, ...options };
  const n = guide.width * guide.height;
  const ratio = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = alignedInverse[i]!;
    const d = dffInverse[i]!;
    if (a > 0 && d > 0 && confidence[i]! > 0) {
      weight[i] = evidenceWeight(confidence[i]!, o.confidencePower);
      ratio[i] = Math.log(d / a);
    }
  }
  const map = logScaleMap(ratio, weight, guide, o);
  for (let i = 0; i < n; i++) map[i] = Math.exp(map[i]!);
  return map;
}

/** Confidence to the given power, the usual powers without `**` (it is slow in the hot loop). */
export function evidenceWeight(confidence: number, power: number): number {
  return power === 0
    ? 1
    : power === 1
      ? confidence
      : power === 2
        ? confidence * confidence
        : confidence ** power;
}

/**
 * The scale map's logarithm (see `refineScaleMap`) from per-pixel evidence: `logRatio` is
 * ln(DFF inverse depth / aligned inverse depth), `weight` its weight (0: no evidence, and then
 * `logRatio` is ignored). Both the evidence and the result are limited to ±ln(maxFactor).
 * Working in logs lets several passes chain without a log and an exp per pass. `out` may be
 * `logRatio`.
 */
export function logScaleMap(
  logRatio: Float32Array,
  weight: Float32Array,
  guide: Plane,
  options: Partial<RefineOptions> = {},
  out: Float32Array = new Float32Array(guide.width * guide.height),
): Float32Array {
  return runStepsInline(logScaleMapSteps(logRatio, weight, guide, options, out, plainAlloc));
}

/**
 * `logScaleMap` as row-band steps (bandSteps.ts): the coarse cells' sums by rows of cells and
 * the full-size a·I + b by rows; its planes from `alloc`.
 */
export function* logScaleMapSteps(
  logRatio: Float32Array,
  weight: Float32Array,
  guide: Plane,
  options: Partial<RefineOptions>,
  out: Float32Array,
  alloc: (length: number) => Float32Array,
): BandSteps<Float32Array> {
  const o = { ...DEFAULT_REFINE, ...options };
  const { width: w, height: h, data: I } = guide;
  const r = Math.max(1, Math.round(Math.min(w, h) * o.radiusFraction));
  const lim = Math.log(o.maxFactor);
  // Fast guided filter (He & Sun 2015): the local statistics are smooth at the window's scale,
  // so they are computed on a grid `s` times coarser and only the final a·I + b at full size.
  const s = Math.max(1, Math.floor(r / 4));
  const lw = Math.ceil(w / s);
  const lh = Math.ceil(h / s);
  const ln = lw * lh;
  const cells = {
    W: alloc(ln),
    WI: alloc(ln),
    WII: alloc(ln),
    WL: alloc(ln),
    WIL: alloc(ln),
  };
  const grid = { w, h, s, lw, lh, lim };
  yield bandStep(
    guidedCellRows,
    { ...grid, ...cells, logRatio, weight, I, priorWeight: o.priorWeight },
    lh,
  );
  const { W, WI, WII, WL, WIL } = cells;
  const lr = Math.max(1, Math.round(r / s));
  for (const m of [W, WI, WII, WL, WIL]) boxMean(m, lw, lh, lr, m);
  const a = alloc(ln);
  const b = alloc(ln);
  for (let j = 0; j < ln; j++) {
    const mI = WI[j]! / W[j]!;
    const mL = WL[j]! / W[j]!;
    const varI = WII[j]! / W[j]! - mI * mI;
    const cov = WIL[j]! / W[j]! - mI * mL;
    a[j] = cov / (Math.max(varI, 0) + o.epsilon);
    b[j] = mL - a[j]! * mI;
  }
  boxMean(a, lw, lh, lr, a);
  boxMean(b, lw, lh, lr, b);
  yield bandStep(guidedApplyRows, { ...grid, a, b, I, out }, h);
  return out;
}

/** The coarse grid of a fast guided filter: cells of s×s pixels, lw × lh of them. */
interface CoarseGrid {
  w: number;
  h: number;
  s: number;
  lw: number;
  lh: number;
  /** Evidence and result are limited to ±lim. */
  lim: number;
}

/** Each coarse cell's weighted means over its (up to) s×s pixels, for cell rows [cy0, cy1). */
export function guidedCellRows(
  p: CoarseGrid & {
    logRatio: Float32Array;
    weight: Float32Array;
    I: Float32Array;
    priorWeight: number;
    W: Float32Array;
    WI: Float32Array;
    WII: Float32Array;
    WL: Float32Array;
    WIL: Float32Array;
  },
  cy0: number,
  cy1: number,
): void {
  const { w, h, s, lw, lim, logRatio, weight, I, priorWeight, W, WI, WII, WL, WIL } = p;
  // Summed in locals cell by cell.
  for (let cy = cy0, j = cy0 * lw; cy < cy1; cy++) {
    const y1 = Math.min(h, (cy + 1) * s);
    for (let cx = 0; cx < lw; cx++, j++) {
      const x0 = cx * s;
      const x1 = Math.min(w, x0 + s);
      let sw = 0;
      let swi = 0;
      let swii = 0;
      let swl = 0;
      let swil = 0;
      for (let y = cy * s; y < y1; y++) {
        for (let i = y * w + x0, end = y * w + x1; i < end; i++) {
          const c = weight[i]!;
          // The prior weight adds "no correction" (l = 0) evidence everywhere.
          const wt = c + priorWeight;
          const g = I[i]!;
          const l = logRatio[i]!;
          const wl = c > 0 ? c * Math.max(-lim, Math.min(lim, l)) : 0;
          sw += wt;
          swi += wt * g;
          swii += wt * g * g;
          swl += wl;
          swil += wl * g;
        }
      }
      const count = (y1 - cy * s) * (x1 - x0);
      W[j] = sw / count;
      WI[j] = swi / count;
      WII[j] = swii / count;
      WL[j] = swl / count;
      WIL[j] = swil / count;
    }
  }
}

/** a·I + b at full size for rows [y0, y1), a and b upsampled bilinearly (pixel centres aligned). */
export function guidedApplyRows(
  g: CoarseGrid & { a: Float32Array; b: Float32Array; I: Float32Array; out: Float32Array },
  y0: number,
  y1: number,
): void {
  const { w, h, lw, lh, lim, a, b, I, out } = g;
  const x0 = new Int32Array(w);
  const tx = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const fx = Math.min(lw - 1, Math.max(0, ((x + 0.5) * lw) / w - 0.5));
    x0[x] = Math.min(Math.floor(fx), Math.max(0, lw - 2));
    tx[x] = fx - x0[x]!;
  }
  const dx = lw > 1 ? 1 : 0;
  const rowA = new Float64Array(lw);
  const rowB = new Float64Array(lw);
  for (let y = y0; y < y1; y++) {
    const fy = Math.min(lh - 1, Math.max(0, ((y + 0.5) * lh) / h - 0.5));
    const c0 = Math.floor(fy);
    const c1 = Math.min(lh - 1, c0 + 1);
    const ty = fy - c0;
    for (let j = 0; j < lw; j++) {
      rowA[j] = a[c0 * lw + j]! * (1 - ty) + a[c1 * lw + j]! * ty;
      rowB[j] = b[c0 * lw + j]! * (1 - ty) + b[c1 * lw + j]! * ty;
    }
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const j = x0[x]!;
      const t = tx[x]!;
      const ma = rowA[j]! + (rowA[j + dx]! - rowA[j]!) * t;
      const mb = rowB[j]! + (rowB[j + dx]! - rowB[j]!) * t;
      out[i] = Math.max(-lim, Math.min(lim, ma * I[i]! + mb));
    }
  }
}
