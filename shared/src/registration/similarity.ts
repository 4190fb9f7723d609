import { gaussianBlur } from "../image/boxFilter.ts";
import { buildPyramid } from "../image/pyramid.ts";
import type { Plane } from "../image/types.ts";
import {
  IDENTITY,
  rescaleSimilarity,
  type Similarity,
  similarityScale,
  warpSimilarity,
} from "../image/warp.ts";
import { solveLinear } from "../math/solve.ts";
import { median } from "../math/stats.ts";

export interface RegistrationOptions {
  /** Coarsest level's short side, px. */
  minSide: number;
  /** Work at most at this long side (px); finer levels add time, not accuracy, for a similarity. */
  maxSide: number;
  maxIterations: number;
  /** Plausible magnification range for focus breathing plus hand motion. */
  maxScaleChange: number;
  /** Largest plausible shift as a fraction of the long side. */
  maxShiftFraction: number;
}

export const DEFAULT_REGISTRATION: RegistrationOptions = {
  minSide: 40,
  maxSide: 480,
  maxIterations: 40,
  maxScaleChange: 0.15,
  maxShiftFraction: 0.15,
};

export interface Registration {
  /** Maps reference pixels to moving-frame pixels, at the resolution given. */
  transform: Similarity;
  /** False when the estimate was not trustworthy and identity is used instead. */
  trusted: boolean;
  /** Normalised cross-correlation with the reference after alignment (identity when untrusted). */
  ncc: number;
  /** NCC with no alignment, for comparison. */
  nccIdentity: number;
  /** RMS of the photometrically matched residual, in gray units [0, 1]. */
  residual: number;
  reason?: string;
}

/**
 * Registers `moving` to `reference` with a similarity (zoom for focus breathing, rotation and
 * shift for the hand) plus gain and bias (exposure drift), by robust Gauss–Newton
 * coarse to fine. Both planes must have the same size.
 */
export function registerSimilarity(
  reference: Plane,
  moving: Plane,
  options: Partial<RegistrationOptions> = {},
): Registration {
  const o = { ...DEFAULT_REGISTRATION, ...options };
  if (reference.width !== moving.width || reference.height !== moving.height) {
    throw new RangeError("registration needs frames of the same size");
  }
  const refPyr = buildPyramid(reference, o.minSide);
  const movPyr = buildPyramid(moving, o.minSide);
  // Finest level used: the first whose long side fits maxSide.
  let finest = 0;
  while (
    finest < refPyr.length - 1 &&
    Math.max(refPyr[finest]!.width, refPyr[finest]!.height) > o.maxSide
  )
    finest++;

  let t: Similarity = { ...IDENTITY };
  const coarsest = refPyr.length - 1;
  let last: LevelFit | undefined;
  for (let level = coarsest; level >= finest; level--) {
    if (level !== coarsest) t = rescaleSimilarity(t, 2);
    const ref = smooth(refPyr[level]!);
    const mov = smooth(movPyr[level]!);
    last = refine(ref, mov, t, o.maxIterations);
    t = last.transform;
  }
  const fit = last!;
  const full = rescaleSimilarity(fit.transform, 2 ** finest);
  const identityFit = evaluate(smooth(refPyr[finest]!), smooth(movPyr[finest]!), { ...IDENTITY });

  const long = Math.max(reference.width, reference.height);
  let reason: string | undefined;
  const s = similarityScale(full);
  if (!Number.isFinite(full.tx + full.ty + full.a + full.b)) reason = "registration diverged";
  else if (Math.abs(s - 1) > o.maxScaleChange) reason = `implausible zoom ${s.toFixed(3)}`;
  else if (Math.hypot(full.tx, full.ty) > o.maxShiftFraction * long)
    reason = `implausible shift ${Math.hypot(full.tx, full.ty).toFixed(1)} px`;
  else if (fit.ncc < identityFit.ncc - NCC_TOLERANCE)
    reason = "alignment matched worse than no alignment";
  if (reason) {
    return {
      transform: { ...IDENTITY },
      trusted: false,
      ncc: identityFit.ncc,
      nccIdentity: identityFit.ncc,
      residual: identityFit.residual,
      reason,
    };
  }
  // Within tolerance of identity (an already aligned stack): keep identity, no resampling blur.
  if (fit.ncc <= identityFit.ncc) {
    return {
      transform: { ...IDENTITY },
      trusted: true,
      ncc: identityFit.ncc,
      nccIdentity: identityFit.ncc,
      residual: identityFit.residual,
    };
  }
  return {
    transform: full,
    trusted: true,
    ncc: fit.ncc,
    nccIdentity: identityFit.ncc,
    residual: fit.residual,
  };
}

/** An estimate may match up to this much worse than identity (noise) before it is distrusted. */
const NCC_TOLERANCE = 0.002;

// Differently focused frames differ most in fine detail: compare them slightly smoothed.
function smooth(p: Plane): Plane {
  return { width: p.width, height: p.height, data: gaussianBlur(p.data, p.width, p.height, 1) };
}

interface LevelFit {
  transform: Similarity;
  ncc: number;
  residual: number;
}

/** Moving image with its x and y gradients, interleaved, so one warp resamples all three. */
function withGradients(p: Plane): Float32Array {
  const { width: w, height: h, data: d } = p;
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const ym = y > 0 ? y - 1 : y;
    const yp = y < h - 1 ? y + 1 : y;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : x;
      const xp = x < w - 1 ? x + 1 : x;
      const i = y * w + x;
      out[3 * i] = d[i]!;
      out[3 * i + 1] = (d[y * w + xp]! - d[y * w + xm]!) / (xp - xm || 1);
      out[3 * i + 2] = (d[yp * w + x]! - d[ym * w + x]!) / (yp - ym || 1);
    }
  }
  return out;
}

const N_PARAMS = 6; // a, b, tx, ty, gain, bias

function refine(ref: Plane, mov: Plane, start: Similarity, maxIterations: number): LevelFit {
  const { width: w, height: h } = ref;
  const n = w * h;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const src = withGradients(mov);
  const warped = new Float32Array(n * 3);
  const valid = new Uint8Array(n);
  const resid = new Float32Array(n);
  const t = { ...start };
  let gain = 1;
  let bias = 0;
  // Normalising the rotation/zoom columns by the half-diagonal keeps the normal equations well scaled.
  const norm = Math.hypot(cx, cy) || 1;
  for (let it = 0; it < maxIterations; it++) {
    warpSimilarity(src, w, h, 3, t, warped, valid);
    const absR: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!valid[i]) continue;
      const r = gain * warped[3 * i]! + bias - ref.data[i]!;
      resid[i] = r;
      if ((i & 3) === 0) absR.push(Math.abs(r));
    }
    if (absR.length < 16) break;
    // Huber weights at 1.345 robust sigmas: occlusions and blur differences do not dominate.
    const k = Math.max(1.345 * 1.4826 * median(absR), 1e-4);
    const JtJ = new Float64Array(N_PARAMS * N_PARAMS);
    const Jtr = new Float64Array(N_PARAMS);
    const J = new Float64Array(N_PARAMS);
    for (let y = 0; y < h; y++) {
      const dy = y - cy;
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!valid[i]) continue;
        const dx = x - cx;
        const ix = gain * warped[3 * i + 1]!;
        const iy = gain * warped[3 * i + 2]!;
        const r = resid[i]!;
        const wt = Math.abs(r) <= k ? 1 : k / Math.abs(r);
        J[0] = (ix * dx + iy * dy) / norm;
        J[1] = (-ix * dy + iy * dx) / norm;
        J[2] = ix;
        J[3] = iy;
        J[4] = warped[3 * i]!;
        J[5] = 1;
        for (let p = 0; p < N_PARAMS; p++) {
          const jp = wt * J[p]!;
          Jtr[p]! += jp * r;
          for (let q = p; q < N_PARAMS; q++) JtJ[p * N_PARAMS + q]! += jp * J[q]!;
        }
      }
    }
    for (let p = 0; p < N_PARAMS; p++) {
      for (let q = 0; q < p; q++) JtJ[p * N_PARAMS + q] = JtJ[q * N_PARAMS + p]!;
      JtJ[p * N_PARAMS + p]! *= 1 + 1e-6; // a touch of Levenberg damping
    }
    const neg = Jtr.map((v) => -v);
    const d = solveLinear(JtJ, neg, N_PARAMS);
    if (!d) break;
    t.a += d[0]! / norm;
    t.b += d[1]! / norm;
    t.tx += d[2]!;
    t.ty += d[3]!;
    gain += d[4]!;
    bias += d[5]!;
    // Converged when no pixel moves by more than ~0.01 px.
    if (Math.abs(d[2]!) + Math.abs(d[0]!) < 0.01 && Math.abs(d[3]!) + Math.abs(d[1]!) < 0.01) break;
  }
  const e = evaluate(ref, mov, t);
  return { transform: t, ncc: e.ncc, residual: e.residual };
}

/** NCC and gain/bias-matched RMS residual of the reference against the warped moving plane. */
function evaluate(ref: Plane, mov: Plane, t: Similarity): { ncc: number; residual: number } {
  const n = ref.width * ref.height;
  const valid = new Uint8Array(n);
  const warped = warpSimilarity(mov.data, mov.width, mov.height, 1, t, undefined, valid);
  let c = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    c++;
    sa += ref.data[i]!;
    sb += warped[i]!;
  }
  if (c < 2) return { ncc: -1, residual: Number.POSITIVE_INFINITY };
  const ma = sa / c;
  const mb = sb / c;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    const a = ref.data[i]! - ma;
    const b = warped[i]! - mb;
    saa += a * a;
    sbb += b * b;
    sab += a * b;
  }
  const ncc = sab / Math.sqrt(saa * sbb || 1);
  // Residual after the least-squares gain: var(a) (1 − ncc²).
  const residual = Math.sqrt(Math.max(0, (saa / c) * (1 - ncc * ncc)));
  return { ncc, residual };
}
