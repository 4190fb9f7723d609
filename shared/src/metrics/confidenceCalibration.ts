import { selectKth } from "../math/stats.ts";

/** How well confidence predicts the depth error it stands for (see `confidenceCalibration`). */
export interface ConfidenceCalibration {
  /**
   * The 68.3rd percentile of |ln(pred / gt)| / σ, σ the relative 1σ error the confidence
   * predicts: 1 when it predicts the error, above 1 when it understates it.
   */
  errorOverSigma68: number;
  /** Pixels scored: valid in both maps, with a confidence of at least `minConfidence`. */
  count: number;
}

/**
 * Scores confidence as the prediction it is: confidence c = τ²/(τ² + σ²) predicts a relative
 * 1σ error σ = τ·√((1 − c)/c). A percentile, not an RMS, so the few pixels a fit gets grossly
 * wrong (occluding edges, no texture) do not decide it; pixels under `minConfidence` (default
 * 0.5: σ > τ) are left out, as no use trusts them.
 */
export function confidenceCalibration(
  pred: Float32Array,
  gt: Float32Array,
  confidence: Float32Array,
  tau: number,
  minConfidence = 0.5,
): ConfidenceCalibration {
  if (pred.length !== gt.length || confidence.length !== gt.length)
    throw new RangeError("prediction, ground truth and confidence differ in size");
  const z = new Float64Array(gt.length);
  let n = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i]!;
    const p = pred[i]!;
    const c = confidence[i]!;
    if (!(g > 0 && p > 0 && Number.isFinite(g) && Number.isFinite(p))) continue;
    if (!(c >= minConfidence && c < 1)) continue;
    z[n++] = Math.abs(Math.log(p / g)) / (tau * Math.sqrt((1 - c) / c));
  }
  const errorOverSigma68 = n
    ? selectKth(z.subarray(0, n), Math.floor(0.683 * (n - 1)))
    : Number.NaN;
  return { errorOverSigma68, count: n };
}
