import type { Plane } from "../image/types.ts";
import { quantile } from "../math/stats.ts";
import { type Alignment, alignScaleShift, applyAlignment } from "./alignScaleShift.ts";
import {
  DEFAULT_REFINE,
  evidenceWeight,
  logScaleMap,
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

/** HybridDepth step 1: robust, confidence-weighted global fit of the prior to depth from focus. */
export function alignPrior(input: FusionInput): AlignedPrior {
  const { dffDepth, confidence, priorInverse, range } = input;
  const alignment = alignScaleShift(priorInverse, reciprocal(dffDepth), confidence);
  if (alignment.fallback === "none") return { alignment };
  const depth = applyAlignment(priorInverse, alignment, range, dffDepth);
  limitFarOutliers(depth, range);
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
  const step = Math.max(1, Math.floor(depth.length / 50_000));
  const sample = new Float32Array(Math.ceil(depth.length / step));
  for (let i = 0, k = 0; i < depth.length; i += step, k++) sample[k] = depth[i]!;
  const far = quantile(sample, 1 - FAR_QUANTILE);
  if (!Number.isFinite(far)) return;
  const limit = Math.min(range.max, 2 * far);
  for (let i = 0; i < depth.length; i++) if (depth[i]! > limit) depth[i] = limit;
}

/** HybridDepth step 2: the aligned depth times a refined, edge-aware scale map (m). */
export function refineAligned(input: FusionInput, aligned: Float32Array): Float32Array {
  const { dffDepth, confidence, guide, range } = input;
  const n = aligned.length;
  // The passes chain in logs: each one's evidence is ln(DFF / aligned inverse depth) less the
  // log scale found so far, and the final depth is the aligned one over exp(total log scale).
  // NaN marks pixels without evidence (no focus peak, or a depth that is not positive and finite).
  const evidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = aligned[i]!;
    const d = dffDepth[i]!;
    const usable = a > 0 && d > 0 && a < Number.POSITIVE_INFINITY && d < Number.POSITIVE_INFINITY;
    evidence[i] = usable && confidence[i]! > 0 ? Math.log(a / d) : Number.NaN;
  }
  const logScale = new Float32Array(n);
  const weight = new Float32Array(n);
  // Each pass's evidence, then (in place) its log scale, added to `logScale` on the next sweep.
  const pass = new Float32Array(n);
  for (const options of REFINE_PASSES) {
    const power = options.confidencePower ?? DEFAULT_REFINE.confidencePower;
    for (let i = 0; i < n; i++) {
      const l = logScale[i]! + pass[i]!;
      const e = evidence[i]!;
      logScale[i] = l;
      pass[i] = e - l;
      weight[i] = Number.isNaN(e) ? 0 : evidenceWeight(confidence[i]!, power);
    }
    logScaleMap(pass, weight, guide, options, pass);
  }
  // The depth is written over the log scale, its last use.
  const full = logScale;
  for (let i = 0; i < n; i++) {
    const depth = aligned[i]! * Math.exp(-(logScale[i]! + pass[i]!));
    full[i] = Math.min(range.max, Math.max(range.min, depth));
  }
  limitFarOutliers(full, range);
  return full;
}

function reciprocal(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = 1 / v[i]!;
  return out;
}
