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
 * Registers frames to one reference with a similarity (zoom for focus breathing, rotation and
 * shift for the hand) plus gain and bias (exposure drift), by robust Gauss–Newton coarse to
 * fine. The reference pyramid is built once and shared by every frame.
 */
export class Registrar {
  private readonly o: RegistrationOptions;
  private readonly ref: Plane[];
  private readonly finest: number;
  private readonly width: number;
  private readonly height: number;

  constructor(reference: Plane, options: Partial<RegistrationOptions> = {}) {
    this.o = { ...DEFAULT_REGISTRATION, ...options };
    this.width = reference.width;
    this.height = reference.height;
    const { levels, finest } = smoothedPyramid(reference, this.o);
    this.ref = levels;
    this.finest = finest;
  }

  register(moving: Plane): Registration {
    const o = this.o;
    if (moving.width !== this.width || moving.height !== this.height) {
      throw new RangeError("registration needs frames of the same size");
    }
    const mov = smoothedPyramid(moving, o).levels;
    const finest = this.finest;
    let t: Similarity = { ...IDENTITY };
    const coarsest = this.ref.length - 1;
    for (let level = coarsest; level >= finest; level--) {
      if (level !== coarsest) t = rescaleSimilarity(t, 2);
      t = refine(this.ref[level]!, mov[level]!, t, o.maxIterations);
    }
    const fit = evaluate(this.ref[finest]!, mov[finest]!, t);
    const full = rescaleSimilarity(t, 2 ** finest);
    const identityFit = evaluate(this.ref[finest]!, mov[finest]!, { ...IDENTITY });

    const long = Math.max(this.width, this.height);
    let reason: string | undefined;
    const s = similarityScale(full);
    if (!Number.isFinite(full.tx + full.ty + full.a + full.b)) reason = "registration diverged";
    else if (Math.abs(s - 1) > o.maxScaleChange) reason = `implausible zoom ${s.toFixed(3)}`;
    else if (Math.hypot(full.tx, full.ty) > o.maxShiftFraction * long)
      reason = `implausible shift ${Math.hypot(full.tx, full.ty).toFixed(1)} px`;
    else if (fit.ncc < identityFit.ncc - NCC_TOLERANCE)
      reason = "alignment matched worse than no alignment";
    const identity = {
      transform: { ...IDENTITY },
      ncc: identityFit.ncc,
      nccIdentity: identityFit.ncc,
      residual: identityFit.residual,
    };
    if (reason) return { ...identity, trusted: false, reason };
    // Within tolerance of identity (an already aligned stack): keep identity, no resampling blur.
    if (fit.ncc <= identityFit.ncc) return { ...identity, trusted: true };
    return {
      transform: full,
      trusted: true,
      ncc: fit.ncc,
      nccIdentity: identityFit.ncc,
      residual: fit.residual,
    };
  }
}

/** Registers one frame to a reference (see `Registrar` to register many to the same one). */
export function registerSimilarity(
  reference: Plane,
  moving: Plane,
  options: Partial<RegistrationOptions> = {},
): Registration {
  return new Registrar(reference, options).register(moving);
}

/**
 * Pyramid down to `minSide`, with the levels registration works on (`finest`: the first whose
 * long side fits `maxSide`, and coarser) smoothed; finer levels only feed the downsampling.
 */
function smoothedPyramid(p: Plane, o: RegistrationOptions): { levels: Plane[]; finest: number } {
  const levels = buildPyramid(p, o.minSide);
  let finest = 0;
  while (
    finest < levels.length - 1 &&
    Math.max(levels[finest]!.width, levels[finest]!.height) > o.maxSide
  )
    finest++;
  for (let l = finest; l < levels.length; l++) levels[l] = smooth(levels[l]!);
  return { levels, finest };
}

/** An estimate may match up to this much worse than identity (noise) before it is distrusted. */
const NCC_TOLERANCE = 0.002;

// Differently focused frames differ most in fine detail: compare them slightly smoothed.
function smooth(p: Plane): Plane {
  return { width: p.width, height: p.height, data: gaussianBlur(p.data, p.width, p.height, 1) };
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

/** At most about this many sample pixels per level: a 6-parameter fit needs no more. */
const MAX_SAMPLES = 20_000;

function refine(ref: Plane, mov: Plane, start: Similarity, maxIterations: number): Similarity {
  const { width: w, height: h } = ref;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const src = withGradients(mov);
  // A regular grid of sample pixels; their positions relative to the centre and template values.
  const stride = Math.max(1, Math.round(Math.sqrt((w * h) / MAX_SAMPLES)));
  const sx: number[] = [];
  const sy: number[] = [];
  const tv: number[] = [];
  for (let y = 0; y < h; y += stride) {
    for (let x = 0; x < w; x += stride) {
      sx.push(x - cx);
      sy.push(y - cy);
      tv.push(ref.data[y * w + x]!);
    }
  }
  const m = sx.length;
  const I = new Float64Array(m);
  const Ix = new Float64Array(m);
  const Iy = new Float64Array(m);
  const resid = new Float64Array(m);
  const ok = new Uint8Array(m);
  const t = { ...start };
  let gain = 1;
  let bias = 0;
  // Normalising the rotation/zoom columns by the half-diagonal keeps the normal equations well scaled.
  const norm = Math.hypot(cx, cy) || 1;
  const JtJ = new Float64Array(N_PARAMS * N_PARAMS);
  const Jtr = new Float64Array(N_PARAMS);
  const J = new Float64Array(N_PARAMS);
  for (let it = 0; it < maxIterations; it++) {
    const s = 1 + t.a;
    const absR: number[] = [];
    for (let k = 0; k < m; k++) {
      const dx = sx[k]!;
      const dy = sy[k]!;
      const px = cx + s * dx - t.b * dy + t.tx;
      const py = cy + t.b * dx + s * dy + t.ty;
      if (!(px >= 0 && py >= 0 && px < w - 1 && py < h - 1)) {
        ok[k] = 0;
        continue;
      }
      ok[k] = 1;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const fx = px - x0;
      const fy = py - y0;
      const i00 = 3 * (y0 * w + x0);
      const i10 = i00 + 3 * w;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      I[k] = w00 * src[i00]! + w01 * src[i00 + 3]! + w10 * src[i10]! + w11 * src[i10 + 3]!;
      Ix[k] = w00 * src[i00 + 1]! + w01 * src[i00 + 4]! + w10 * src[i10 + 1]! + w11 * src[i10 + 4]!;
      Iy[k] = w00 * src[i00 + 2]! + w01 * src[i00 + 5]! + w10 * src[i10 + 2]! + w11 * src[i10 + 5]!;
      const r = gain * I[k]! + bias - tv[k]!;
      resid[k] = r;
      if ((k & 3) === 0) absR.push(Math.abs(r));
    }
    if (absR.length < 16) break;
    // Huber weights at 1.345 robust sigmas: occlusions and blur differences do not dominate.
    const huber = Math.max(1.345 * 1.4826 * median(absR), 1e-4);
    JtJ.fill(0);
    Jtr.fill(0);
    for (let k = 0; k < m; k++) {
      if (!ok[k]) continue;
      const dx = sx[k]!;
      const dy = sy[k]!;
      const ix = gain * Ix[k]!;
      const iy = gain * Iy[k]!;
      const r = resid[k]!;
      const wt = Math.abs(r) <= huber ? 1 : huber / Math.abs(r);
      J[0] = (ix * dx + iy * dy) / norm;
      J[1] = (-ix * dy + iy * dx) / norm;
      J[2] = ix;
      J[3] = iy;
      J[4] = I[k]!;
      J[5] = 1;
      for (let p = 0; p < N_PARAMS; p++) {
        const jp = wt * J[p]!;
        Jtr[p]! += jp * r;
        for (let q = p; q < N_PARAMS; q++) JtJ[p * N_PARAMS + q]! += jp * J[q]!;
      }
    }
    for (let p = 0; p < N_PARAMS; p++) {
      for (let q = 0; q < p; q++) JtJ[p * N_PARAMS + q] = JtJ[q * N_PARAMS + p]!;
      JtJ[p * N_PARAMS + p]! *= 1 + 1e-6; // a touch of Levenberg damping
    }
    const d = solveLinear(
      JtJ,
      Jtr.map((v) => -v),
      N_PARAMS,
    );
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
  return t;
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
