import { gaussianBlur } from "../image/boxFilter.ts";
import { buildPyramid, downsample2 } from "../image/pyramid.ts";
import type { Plane } from "../image/types.ts";
import { IDENTITY, rescaleSimilarity, type Similarity, similarityScale } from "../image/warp.ts";
import { solveLinear } from "../math/solve.ts";
import { median } from "../math/stats.ts";

export interface RegistrationOptions {
  /** Coarsest level's short side, px. */
  minSide: number;
  /**
   * Work at most at this long side (px); finer levels add time, not accuracy, for a similarity.
   * 640×480 frames register on 160×120 (half the time of 320×240; corner error 0.02 → 0.04–0.10
   * work px, the 12 MP stack's 0.10–0.17 at its 255 px level; eval:synthetic unchanged).
   */
  maxSide: number;
  maxIterations: number;
  /** Plausible magnification range for focus breathing plus hand motion. */
  maxScaleChange: number;
  /** Largest plausible shift as a fraction of the long side. */
  maxShiftFraction: number;
}

export const DEFAULT_REGISTRATION: RegistrationOptions = {
  minSide: 40,
  maxSide: 300,
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
 * The pyramid level registration estimates on: the plane halved until its long side fits
 * `maxSide` (unsmoothed), and how many work pixels one of its pixels spans. Estimating there and
 * warping once at work size loses nothing a similarity can express (see the test), and only this
 * small level of the reference needs to reach the threads that register other frames.
 */
export function registrationLevel(
  p: Plane,
  options: Partial<RegistrationOptions> = {},
): { level: Plane; factor: number } {
  const { factor } = registrationLevelSize(p.width, p.height, options);
  let level = p;
  for (let f = 1; f < factor; f *= 2) level = downsample2(level);
  return { level, factor };
}

/** The size and factor of the `registrationLevel` of a plane of this size. */
export function registrationLevelSize(
  width: number,
  height: number,
  options: Partial<RegistrationOptions> = {},
): { width: number; height: number; factor: number } {
  const o = { ...DEFAULT_REGISTRATION, ...options };
  let [w, h, factor] = [width, height, 1];
  // The same stopping rule as the registrar's own pyramid, so levels coincide exactly.
  while (Math.max(w, h) > o.maxSide && Math.min(w, h) >= 2 * o.minSide) {
    w >>= 1;
    h >>= 1;
    factor *= 2;
  }
  return { width: w, height: h, factor };
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
  /** Each working level's sample grid, fixed by the reference: built once, not per frame. */
  private readonly grids: (SampleGrid | undefined)[];
  /** Working memory of `refine`, sized for the largest level and reused by every frame. */
  private readonly scratch: Scratch;
  /** Work pixels per pixel of the planes given (> 1 when they are a `registrationLevel`). */
  private readonly factor: number;

  /**
   * `reference` is the work-size plane, or its `registrationLevel` with that level's `factor`
   * (then moving frames are given at that level too, and transforms come back at work size).
   */
  constructor(reference: Plane, options: Partial<RegistrationOptions> = {}, factor = 1) {
    this.o = { ...DEFAULT_REGISTRATION, ...options };
    this.factor = factor;
    this.width = reference.width;
    this.height = reference.height;
    const { levels, finest } = smoothedPyramid(reference, this.o);
    this.ref = levels;
    this.finest = finest;
    this.grids = levels.map((level, l) => (l >= finest ? sampleGrid(level) : undefined));
    const samples = Math.max(...this.grids.map((g) => g?.tv.length ?? 0));
    const { width: w, height: h } = levels[finest]!;
    this.scratch = {
      I: new Float64Array(samples),
      Ix: new Float64Array(samples),
      Iy: new Float64Array(samples),
      resid: new Float64Array(samples),
      ok: new Uint8Array(samples),
      absR: new Float64Array(Math.ceil(samples / 4)),
      gradients: new Float32Array(3 * w * h),
    };
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
      t = refine(this.grids[level]!, mov[level]!, t, o.maxIterations, this.scratch);
    }
    const { fit, identityFit } = evaluate(this.ref[finest]!, mov[finest]!, t);
    const full = rescaleSimilarity(t, 2 ** finest * this.factor);

    const long = Math.max(this.width, this.height) * this.factor;
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
  // Level 0 is the caller's image: smoothed into a copy. Coarser levels are ours: in place.
  for (let l = finest; l < levels.length; l++) levels[l] = smooth(levels[l]!, l > 0);
  return { levels, finest };
}

/** An estimate may match up to this much worse than identity (noise) before it is distrusted. */
const NCC_TOLERANCE = 0.002;

// Differently focused frames differ most in fine detail: compare them slightly smoothed.
function smooth(p: Plane, inPlace: boolean): Plane {
  const out = inPlace ? p.data : new Float32Array(p.data.length);
  return {
    width: p.width,
    height: p.height,
    data: gaussianBlur(p.data, p.width, p.height, 1, out),
  };
}

/** Moving image with its x and y gradients, interleaved, so one warp resamples all three. */
function withGradients(p: Plane, out: Float32Array): Float32Array {
  const { width: w, height: h, data: d } = p;
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

/** Sample pixels on a regular grid: positions relative to the centre, and reference values. */
interface SampleGrid {
  width: number;
  height: number;
  sx: Float64Array;
  sy: Float64Array;
  tv: Float64Array;
}

interface Scratch {
  I: Float64Array;
  Ix: Float64Array;
  Iy: Float64Array;
  resid: Float64Array;
  ok: Uint8Array;
  absR: Float64Array;
  gradients: Float32Array;
}

/** A regular grid of at most about MAX_SAMPLES pixels of a reference level. */
function sampleGrid(ref: Plane): SampleGrid {
  const { width: w, height: h } = ref;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const stride = Math.max(1, Math.round(Math.sqrt((w * h) / MAX_SAMPLES)));
  const gw = Math.ceil(w / stride);
  const m = gw * Math.ceil(h / stride);
  const sx = new Float64Array(m);
  const sy = new Float64Array(m);
  const tv = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const x = (k % gw) * stride;
    const y = Math.floor(k / gw) * stride;
    sx[k] = x - cx;
    sy[k] = y - cy;
    tv[k] = ref.data[y * w + x]!;
  }
  return { width: w, height: h, sx, sy, tv };
}

function refine(
  grid: SampleGrid,
  mov: Plane,
  start: Similarity,
  maxIterations: number,
  scratch: Scratch,
): Similarity {
  const { width: w, height: h, sx, sy, tv } = grid;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const src = withGradients(mov, scratch.gradients);
  const m = tv.length;
  const { I, Ix, Iy, resid, ok, absR } = scratch;
  const t = { ...start };
  let gain = 1;
  let bias = 0;
  // Normalising the rotation/zoom columns by the half-diagonal keeps the normal equations well scaled.
  const norm = Math.hypot(cx, cy) || 1;
  const JtJ = new Float64Array(N_PARAMS * N_PARAMS);
  const Jtr = new Float64Array(N_PARAMS);
  for (let it = 0; it < maxIterations; it++) {
    const s = 1 + t.a;
    let nAbs = 0;
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
      const v = w00 * src[i00]! + w01 * src[i00 + 3]! + w10 * src[i10]! + w11 * src[i10 + 3]!;
      I[k] = v;
      Ix[k] = w00 * src[i00 + 1]! + w01 * src[i00 + 4]! + w10 * src[i10 + 1]! + w11 * src[i10 + 4]!;
      Iy[k] = w00 * src[i00 + 2]! + w01 * src[i00 + 5]! + w10 * src[i10 + 2]! + w11 * src[i10 + 5]!;
      const r = gain * v + bias - tv[k]!;
      resid[k] = r;
      if ((k & 3) === 0) absR[nAbs++] = Math.abs(r);
    }
    if (nAbs < 16) break;
    // Huber weights at 1.345 robust sigmas: occlusions and blur differences do not dominate.
    const huber = Math.max(1.345 * 1.4826 * median(absR.subarray(0, nAbs)), 1e-4);
    normalEquations(m, sx, sy, I, Ix, Iy, resid, ok, gain, huber, norm, JtJ, Jtr);
    for (let p = 0; p < N_PARAMS; p++) {
      for (let q = 0; q < p; q++) JtJ[p * N_PARAMS + q] = JtJ[q * N_PARAMS + p]!;
      JtJ[p * N_PARAMS + p]! *= 1 + 1e-6; // a touch of Levenberg damping
      Jtr[p] = -Jtr[p]!;
    }
    const d = solveLinear(JtJ, Jtr, N_PARAMS);
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

/**
 * Huber-weighted Gauss–Newton normal equations (upper triangle of JᵀWJ, and JᵀWr) of the
 * residuals over the samples that landed inside. Jacobian columns: zoom and rotation (scaled by
 * 1/norm), x and y shift, gain, bias. Accumulated in locals: this is registration's inner loop.
 */
function normalEquations(
  m: number,
  sx: Float64Array,
  sy: Float64Array,
  I: Float64Array,
  Ix: Float64Array,
  Iy: Float64Array,
  resid: Float64Array,
  ok: Uint8Array,
  gain: number,
  huber: number,
  norm: number,
  JtJ: Float64Array,
  Jtr: Float64Array,
): void {
  let h00 = 0,
    h01 = 0,
    h02 = 0,
    h03 = 0,
    h04 = 0,
    h05 = 0;
  let h11 = 0,
    h12 = 0,
    h13 = 0,
    h14 = 0,
    h15 = 0;
  let h22 = 0,
    h23 = 0,
    h24 = 0,
    h25 = 0;
  let h33 = 0,
    h34 = 0,
    h35 = 0;
  let h44 = 0,
    h45 = 0,
    h55 = 0;
  let g0 = 0,
    g1 = 0,
    g2 = 0,
    g3 = 0,
    g4 = 0,
    g5 = 0;
  for (let k = 0; k < m; k++) {
    if (!ok[k]) continue;
    const dx = sx[k]!;
    const dy = sy[k]!;
    const ix = gain * Ix[k]!;
    const iy = gain * Iy[k]!;
    const r = resid[k]!;
    const wt = Math.abs(r) <= huber ? 1 : huber / Math.abs(r);
    const j0 = (ix * dx + iy * dy) / norm;
    const j1 = (-ix * dy + iy * dx) / norm;
    const j4 = I[k]!;
    // Weighted Jacobian row (j5 = 1).
    const a0 = wt * j0;
    const a1 = wt * j1;
    const a2 = wt * ix;
    const a3 = wt * iy;
    const a4 = wt * j4;
    g0 += a0 * r;
    g1 += a1 * r;
    g2 += a2 * r;
    g3 += a3 * r;
    g4 += a4 * r;
    g5 += wt * r;
    h00 += a0 * j0;
    h01 += a0 * j1;
    h02 += a0 * ix;
    h03 += a0 * iy;
    h04 += a0 * j4;
    h05 += a0;
    h11 += a1 * j1;
    h12 += a1 * ix;
    h13 += a1 * iy;
    h14 += a1 * j4;
    h15 += a1;
    h22 += a2 * ix;
    h23 += a2 * iy;
    h24 += a2 * j4;
    h25 += a2;
    h33 += a3 * iy;
    h34 += a3 * j4;
    h35 += a3;
    h44 += a4 * j4;
    h45 += a4;
    h55 += wt;
  }
  // Rows of the upper triangle (the caller mirrors it).
  JtJ.set([h00, h01, h02, h03, h04, h05], 0);
  JtJ.set([h11, h12, h13, h14, h15], 7);
  JtJ.set([h22, h23, h24, h25], 14);
  JtJ.set([h33, h34, h35], 21);
  JtJ.set([h44, h45], 28);
  JtJ[35] = h55;
  Jtr.set([g0, g1, g2, g3, g4, g5]);
}

interface Fit {
  ncc: number;
  residual: number;
}

/**
 * NCC and gain/bias-matched RMS residual of the reference against the moving plane warped by
 * `t` (bilinear, samples that land inside only), and against the moving plane as it is: one
 * pass of sums, no warped copy.
 */
function evaluate(ref: Plane, mov: Plane, t: Similarity): { fit: Fit; identityFit: Fit } {
  const { width: w, height: h } = ref;
  const a = ref.data;
  const b = mov.data;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const m = 1 + t.a;
  // Bilinear taps need x0 + 1 and y0 + 1 to exist; a 1-pixel image has only x0.
  const x0Max = Math.max(0, w - 2);
  const y0Max = Math.max(0, h - 2);
  const dx1 = w > 1 ? 1 : 0;
  const dy1 = h > 1 ? w : 0;
  const warped = new Sums();
  const asIs = new Sums();
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    // The map is affine: along a row both source coordinates advance by constants.
    let px = cx - m * cx - t.b * dy + t.tx;
    let py = cy + t.b * -cx + m * dy + t.ty;
    for (let x = 0, i = y * w; x < w; x++, i++, px += m, py += t.b) {
      const u = a[i]!;
      asIs.add(u, b[i]!);
      if (!(px >= 0 && py >= 0 && px <= w - 1 && py <= h - 1)) continue;
      const x0 = Math.min(Math.floor(px), x0Max);
      const y0 = Math.min(Math.floor(py), y0Max);
      const fx = px - x0;
      const fy = py - y0;
      const j = y0 * w + x0;
      const v =
        (1 - fy) * ((1 - fx) * b[j]! + fx * b[j + dx1]!) +
        fy * ((1 - fx) * b[j + dy1]! + fx * b[j + dy1 + dx1]!);
      warped.add(u, v);
    }
  }
  return { fit: warped.fit(), identityFit: asIs.fit() };
}

/** Running sums of two signals, for their NCC and the residual after a least-squares gain. */
class Sums {
  private c = 0;
  private sa = 0;
  private sb = 0;
  private saa = 0;
  private sbb = 0;
  private sab = 0;

  add(u: number, v: number): void {
    this.c++;
    this.sa += u;
    this.sb += v;
    this.saa += u * u;
    this.sbb += v * v;
    this.sab += u * v;
  }

  fit(): Fit {
    const { c, sa, sb, saa, sbb, sab } = this;
    if (c < 2) return { ncc: -1, residual: Number.POSITIVE_INFINITY };
    // Centred sums from raw ones: gray values in [0, 1] leave doubles ample precision.
    const vaa = Math.max(0, saa - (sa * sa) / c);
    const vbb = Math.max(0, sbb - (sb * sb) / c);
    const vab = sab - (sa * sb) / c;
    const ncc = vab / Math.sqrt(vaa * vbb || 1);
    // Residual after the least-squares gain: var(a) (1 − ncc²).
    const residual = Math.sqrt(Math.max(0, (vaa / c) * (1 - ncc * ncc)));
    return { ncc, residual };
  }
}
