import type { Plane } from "../image/types.ts";
import { type Alignment, alignScaleShift, applyAlignment } from "./alignScaleShift.ts";
import { type RefineOptions, refineScaleMap } from "./refineScaleMap.ts";

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
  return { alignment, depth: applyAlignment(priorInverse, alignment, range) };
}

/** HybridDepth step 2: the aligned depth times a refined, edge-aware scale map (m). */
export function refineAligned(input: FusionInput, aligned: Float32Array): Float32Array {
  const { dffDepth, confidence, guide, range } = input;
  const n = aligned.length;
  const dffInverse = reciprocal(dffDepth);
  let inv = reciprocal(aligned);
  for (const pass of REFINE_PASSES) {
    const scale = refineScaleMap(inv, dffInverse, confidence, guide, pass);
    for (let i = 0; i < n; i++) scale[i]! *= inv[i]!;
    inv = scale;
  }
  const full = new Float32Array(n);
  for (let i = 0; i < n; i++) full[i] = Math.min(range.max, Math.max(range.min, 1 / inv[i]!));
  return full;
}

function reciprocal(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = 1 / v[i]!;
  return out;
}
