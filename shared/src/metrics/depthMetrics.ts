/** The standard depth-estimation metrics (Eigen et al.), over pixels valid in both maps. */
export interface DepthMetrics {
  absRel: number;
  sqRel: number;
  rmse: number;
  rmseLog: number;
  d1: number;
  d2: number;
  d3: number;
  /** Pixels scored. */
  count: number;
  /** Scored pixels / pixels with valid ground truth (selection masks count against it). */
  coverage: number;
}

/**
 * `gt` ≤ 0 or non-finite marks invalid ground truth; `pred` ≤ 0 or non-finite marks no
 * prediction; `mask` (optional) restricts scoring to chosen pixels.
 */
export function depthMetrics(
  pred: Float32Array,
  gt: Float32Array,
  mask?: Uint8Array,
): DepthMetrics {
  if (pred.length !== gt.length) throw new RangeError("prediction and ground truth differ in size");
  let validGt = 0;
  let n = 0;
  let absRel = 0;
  let sqRel = 0;
  let se = 0;
  let seLog = 0;
  let d1 = 0;
  let d2 = 0;
  let d3 = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i]!;
    if (!(g > 0) || !Number.isFinite(g)) continue;
    validGt++;
    const p = pred[i]!;
    if (!(p > 0) || !Number.isFinite(p) || (mask && !mask[i])) continue;
    n++;
    const diff = p - g;
    absRel += Math.abs(diff) / g;
    sqRel += (diff * diff) / g;
    se += diff * diff;
    const dl = Math.log(p) - Math.log(g);
    seLog += dl * dl;
    const ratio = Math.max(p / g, g / p);
    if (ratio < 1.25) d1++;
    if (ratio < 1.25 ** 2) d2++;
    if (ratio < 1.25 ** 3) d3++;
  }
  const k = n || Number.NaN;
  return {
    absRel: absRel / k,
    sqRel: sqRel / k,
    rmse: Math.sqrt(se / k),
    rmseLog: Math.sqrt(seLog / k),
    d1: d1 / k,
    d2: d2 / k,
    d3: d3 / k,
    count: n,
    coverage: validGt ? n / validGt : 0,
  };
}

/** Mask of the `fraction` most confident pixels among those where `eligible` is set. */
export function topConfidentMask(
  confidence: Float32Array,
  fraction: number,
  eligible?: Uint8Array,
): Uint8Array {
  const idx: number[] = [];
  for (let i = 0; i < confidence.length; i++) if (!eligible || eligible[i]) idx.push(i);
  idx.sort((a, b) => confidence[b]! - confidence[a]!);
  const mask = new Uint8Array(confidence.length);
  const take = Math.round(idx.length * fraction);
  for (let j = 0; j < take; j++) mask[idx[j]!] = 1;
  return mask;
}
