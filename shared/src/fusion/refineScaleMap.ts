import { boxMean } from "../image/boxFilter.ts";
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
  // Weighted local statistics; the prior weight adds "l = 0" evidence everywhere.
  const prod = (f: (i: number) => number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f(i);
    return boxMean(out, w, h, r);
  };
  const W = prod((i) => cw[i]! + o.priorWeight);
  const WI = prod((i) => (cw[i]! + o.priorWeight) * I[i]!);
  const WII = prod((i) => (cw[i]! + o.priorWeight) * I[i]! * I[i]!);
  const WL = prod((i) => cw[i]! * l[i]!);
  const WIL = prod((i) => cw[i]! * I[i]! * l[i]!);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const mI = WI[i]! / W[i]!;
    const mL = WL[i]! / W[i]!;
    const varI = WII[i]! / W[i]! - mI * mI;
    const cov = WIL[i]! / W[i]! - mI * mL;
    a[i] = cov / (Math.max(varI, 0) + o.epsilon);
    b[i] = mL - a[i]! * mI;
  }
  const ma = boxMean(a, w, h, r);
  const mb = boxMean(b, w, h, r);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = Math.exp(Math.max(-lim, Math.min(lim, ma[i]! * I[i]! + mb[i]!)));
  return out;
}
