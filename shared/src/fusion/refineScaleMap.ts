import { boxMean } from "../image/boxFilter.ts";
import { resizeBilinear } from "../image/resample.ts";
import type { Plane } from "../image/types.ts";

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
  const { width: w, height: h } = guide;
  const n = w * h;
  const r = Math.max(1, Math.round(Math.min(w, h) * o.radiusFraction));
  const lim = Math.log(o.maxFactor);
  const cw = new Float32Array(n);
  const l = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = alignedInverse[i]!;
    const d = dffInverse[i]!;
    if (a > 0 && d > 0 && confidence[i]! > 0) {
      cw[i] = confidence[i]! ** o.confidencePower;
      l[i] = Math.max(-lim, Math.min(lim, Math.log(d / a)));
    }
  }
  const I = guide.data;
  // Fast guided filter (He & Sun 2015): the local statistics are smooth at the window's scale,
  // so they are computed on a grid `s` times coarser and only the final a·I + b at full size.
  const s = Math.max(1, Math.floor(r / 4));
  const lw = Math.ceil(w / s);
  const lh = Math.ceil(h / s);
  const ln = lw * lh;
  const W = new Float32Array(ln);
  const WI = new Float32Array(ln);
  const WII = new Float32Array(ln);
  const WL = new Float32Array(ln);
  const WIL = new Float32Array(ln);
  const count = new Float32Array(ln);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / s) * lw;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const j = row + Math.floor(x / s);
      // The prior weight adds "no correction" (l = 0) evidence everywhere.
      const wt = cw[i]! + o.priorWeight;
      const g = I[i]!;
      const wl = cw[i]! * l[i]!;
      W[j]! += wt;
      WI[j]! += wt * g;
      WII[j]! += wt * g * g;
      WL[j]! += wl;
      WIL[j]! += wl * g;
      count[j]! += 1;
    }
  }
  const lr = Math.max(1, Math.round(r / s));
  for (const m of [W, WI, WII, WL, WIL]) {
    for (let j = 0; j < ln; j++) m[j]! /= count[j]!;
    boxMean(m, lw, lh, lr, m);
  }
  const a = new Float32Array(ln);
  const b = new Float32Array(ln);
  for (let j = 0; j < ln; j++) {
    const mI = WI[j]! / W[j]!;
    const mL = WL[j]! / W[j]!;
    const varI = WII[j]! / W[j]! - mI * mI;
    const cov = WIL[j]! / W[j]! - mI * mL;
    a[j] = cov / (Math.max(varI, 0) + o.epsilon);
    b[j] = mL - a[j]! * mI;
  }
  const ma = resizeBilinear(boxMean(a, lw, lh, lr), lw, lh, w, h);
  const mb = resizeBilinear(boxMean(b, lw, lh, lr), lw, lh, w, h);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = Math.exp(Math.max(-lim, Math.min(lim, ma[i]! * I[i]! + mb[i]!)));
  return out;
}
