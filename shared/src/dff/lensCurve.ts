import { discreteGaussianBlur } from "../image/boxFilter.ts";
import { type Plane, plane } from "../image/types.ts";
import { mulberry32, selectKth } from "../math/stats.ts";
import { cocDiameterPx, type LensOptics, psfSigmaPx } from "../optics/thinLens.ts";
import { type BandSteps, bandStep, runStepsInline } from "../pipeline/bandSteps.ts";
import type { OpticsUsed } from "../pipeline/result.ts";
import { focusMeasure } from "./focusMeasure.ts";

/** The focus measure's noise in the log domain, which weights each frame of a curve. */
export interface FocusNoise {
  /** Relative variance of the focus measure at the noise floor: ln-domain variance (N/s)²·β. */
  floorNoise: number;
  /** ln-domain variance every frame has at least (texture changes with blur, JPEG, model error). */
  modelNoise: number;
}

export const DEFAULT_FOCUS_NOISE: FocusNoise = { floorNoise: 0.02, modelNoise: 0.0025 };

/** Candidate depths per frame of the stack (at least this many over the focus range). */
const MIN_CANDIDATES = 24;
/** Fits are made every this many pixels in each direction (the focus window is far wider). */
export const LENS_FIT_STRIDE = 6;
/** Weight (χ² units) of the prior that a pixel's texture is as fine as the scene's on average. */
export const FINENESS_PRIOR = 2;
/** The blur response is measured on a central crop of at most this many pixels a side. */
const RESPONSE_CROP = 128;

/**
 * How the focus measure falls with blur on this scene: ln(focus energy of the all-in-focus image
 * blurred by a Gaussian of sigma / unblurred), over its most textured pixels, at `sigmas`. The
 * blur is `discreteGaussianBlur`, which softens under a pixel as a lens does on a sensor (with
 * sampled Gaussian taps a phone's 0.2–0.5 px blur barely registered, and on the phones' stacks
 * rendered at 2× and averaged down the DFF error ran 2.6–5.8× what its confidence said). The
 * lens model turns each depth into a blur per frame, and this into the focus curve it predicts.
 * The image's own sensor noise (`noiseFloor`, in focus-measure units) is taken out of both
 * energies: blurring removes it too, which would make the texture look finer than it is.
 * One row-band step over the sigmas: each one blurs and measures the crop.
 */
function* blurResponseSteps(
  aif: Plane,
  sigmas: readonly number[],
  noiseFloor: number,
): BandSteps<Float64Array> {
  const { width: w, height: h } = aif;
  const cw = Math.min(w, RESPONSE_CROP);
  const ch = Math.min(h, RESPONSE_CROP);
  const x0 = (w - cw) >> 1;
  const y0 = (h - ch) >> 1;
  // In memory every thread reads (the step's arguments are shared, not copied, with a pool).
  const crop = new Float32Array(new SharedArrayBuffer(4 * cw * ch));
  for (let y = 0; y < ch; y++)
    crop.set(aif.data.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + cw), y * cw);
  const base = focusMeasure(
    plane(cw, ch, crop),
    RESPONSE_WINDOW,
    new Float32Array(new SharedArrayBuffer(4 * cw * ch)),
  );
  // The most textured 30% of the crop: there sensor noise is small beside the signal.
  const cut = selectKth(new Float64Array(base), Math.floor(0.7 * (base.length - 1)));
  let count = 0;
  let e0 = 0;
  for (let i = 0; i < base.length; i++) {
    const v = base[i]!;
    if (v >= cut) {
      e0 += v;
      count++;
    }
  }
  const s0 = Math.max(e0 - count * noiseFloor, 1e-30);
  const out = new Float64Array(new SharedArrayBuffer(8 * sigmas.length));
  const args: BlurResponseArgs = {
    crop,
    cw,
    ch,
    base,
    cut,
    count,
    s0,
    noiseFloor,
    sigmas: Float64Array.from(sigmas),
    noise: whiteNoiseResponse(sigmas),
    out,
  };
  yield bandStep(blurResponseRows, args, sigmas.length);
  return out;
}

/** What `blurResponseRows` reads: the crop, its unblurred energy and the pixels counted. */
export interface BlurResponseArgs {
  crop: Float32Array;
  cw: number;
  ch: number;
  /** The crop's focus energy; pixels at or above `cut` (there are `count`) are summed. */
  base: Float32Array;
  cut: number;
  count: number;
  /** Their unblurred energy less the noise floor's share. */
  s0: number;
  noiseFloor: number;
  sigmas: Float64Array;
  /** White noise's response at each sigma. */
  noise: Float64Array;
  out: Float64Array;
}

/** The response at sigmas [l0, l1) (independent of each other: any split, the same bits). */
export function blurResponseRows(a: BlurResponseArgs, l0: number, l1: number): void {
  const { crop, cw, ch, base, cut, count, s0, noiseFloor, sigmas, noise, out } = a;
  const blurred = new Float32Array(crop.length);
  for (let l = l0; l < l1; l++) {
    const s = sigmas[l]!;
    if (s <= 0) continue;
    const e = focusMeasure(
      plane(cw, ch, discreteGaussianBlur(crop, cw, ch, s, blurred)),
      RESPONSE_WINDOW,
    );
    let sum = 0;
    for (let i = 0; i < e.length; i++) if (base[i]! >= cut) sum += e[i]!;
    out[l] = Math.min(0, Math.log(Math.max(sum - count * noiseFloor * noise[l]!, 1e-6 * s0) / s0));
  }
}

const RESPONSE_WINDOW = 2;
const NOISE_PATCH = 64;

/**
 * The white-noise response at each of `sigmas` (`measureWhiteNoiseResponse`), remembered for
 * the last `NOISE_RESPONSES_KEPT` lists: it depends on the sigmas alone, and they repeat from
 * stack to stack (an app's sweep keeps its focus positions and its camera its optics). Measuring
 * it is ≈ 10 ms of a 640×480 stack's ≈ 25 ms blur response on a 2-core CPU. The array is shared:
 * callers only read it.
 */
export function whiteNoiseResponse(sigmas: readonly number[]): Float64Array {
  const key = sigmas.join(); // exact: a double's shortest decimal reads back as that double
  const kept = noiseResponses.get(key);
  if (kept) {
    // Most recently used last, so the oldest goes first.
    noiseResponses.delete(key);
    noiseResponses.set(key, kept);
    return kept;
  }
  const measured = measureWhiteNoiseResponse(sigmas);
  noiseResponses.set(key, measured);
  if (noiseResponses.size > NOISE_RESPONSES_KEPT)
    noiseResponses.delete(noiseResponses.keys().next().value!);
  return measured;
}

export const NOISE_RESPONSES_KEPT = 32;
const noiseResponses = new Map<string, Float64Array>();

/** The focus energy of white noise blurred by each sigma, relative to unblurred. */
export function measureWhiteNoiseResponse(sigmas: readonly number[]): Float64Array {
  const rnd = mulberry32(12345);
  const n = NOISE_PATCH;
  const patch = Float32Array.from({ length: n * n }, () => rnd() - 0.5);
  const total = (img: Float32Array) => {
    const e = focusMeasure(plane(n, n, img), RESPONSE_WINDOW);
    let sum = 0;
    for (const v of e) sum += v;
    return sum;
  };
  const e0 = total(patch);
  return Float64Array.from(sigmas, (s) =>
    s > 0 ? total(discreteGaussianBlur(patch, n, n, s)) / e0 : 1,
  );
}

export interface LensFitResult {
  /** Depth (diopters) and its variance (diopters²) per pixel. */
  position: Float32Array;
  variance: Float32Array;
  /** The blur model used: from the optics, or the blur per diopter fitted to this stack. */
  blur: BlurModel;
}

/**
 * How blur (PSF sigma, px) follows defocus: the thin lens of known optics, or, without them,
 * sigma = `pxPerDiopter` · |focus − depth| in diopters (the thin lens when focus ≫ focal length,
 * with the one unknown constant fitted to the stack itself). `gain`: the optics' blur as the
 * stack shows it, a factor on the thin lens's (1 unless `planLensFit` calibrated it).
 */
export type BlurModel =
  | { kind: "optics"; optics: LensOptics; source?: "capture" | "exif"; gain?: number }
  | {
      kind: "fitted";
      pxPerDiopter: number;
      /**
       * The fit is not to be trusted: it chose the smallest scale it tries (it wanted less than a
       * frame visibly shows), or one that blurs the stack past what the response is measured to
       * (`MAX_SIGMA`: most frames at the floor, a degenerate optimum that weak defocus falls into).
       */
      bound?: "lowest" | "highest";
    };

/** `result.json`'s account of a blur model. */
export function describeBlur(model: BlurModel): OpticsUsed {
  if (model.kind === "fitted")
    return { source: "fitted", blurPxPerDiopter: round(model.pxPerDiopter) };
  const { lens, imageWidthPx } = model.optics;
  const gain = model.gain ?? 1;
  // Focused at infinity, a point at 1 m is 1 diopter out of focus.
  return {
    source: model.source ?? "capture",
    ...lens,
    blurPxPerDiopter: round(gain * psfSigmaPx(cocDiameterPx(1, 1e9, lens, imageWidthPx))),
    blurGain: round(gain),
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Blur sigma (px) of a point at `depthD` diopters in a frame focused at `focusD` diopters. */
export function blurSigmaPx(model: BlurModel, depthD: number, focusD: number): number {
  if (model.kind === "fitted") return model.pxPerDiopter * Math.abs(depthD - focusD);
  const { lens, imageWidthPx } = model.optics;
  return (model.gain ?? 1) * psfSigmaPx(cocDiameterPx(1 / depthD, 1 / focusD, lens, imageWidthPx));
}

/** Largest blur (px) the response is measured to; beyond it the focus curve is floor anyway. */
const MAX_SIGMA = 8;
const RESPONSE_LEVELS = 12;

/**
 * The scene's blur response at evenly spaced sigmas up to the largest a table needs (sub-pixel
 * steps for a phone, where sub-pixel blur decides between "no change" and "softer"), read back
 * by linear interpolation.
 */
class Response {
  private constructor(
    private readonly values: Float64Array,
    private readonly step: number,
  ) {}

  /** Measured on `aif` up to `maxSigma` (each level a row-band step's row). */
  static *measure(aif: Plane, maxSigma: number, noiseFloor: number): BandSteps<Response> {
    const L = RESPONSE_LEVELS;
    const step = Math.max(1e-3, Math.min(maxSigma, MAX_SIGMA)) / (L - 1);
    const sigmas = Array.from({ length: L }, (_, l) => l * step);
    return new Response(yield* blurResponseSteps(aif, sigmas, noiseFloor), step);
  }

  at(sigma: number): number {
    const L = RESPONSE_LEVELS;
    const u = Math.min(sigma / this.step, L - 1);
    const l0 = Math.min(L - 2, Math.floor(u));
    const f = u - l0;
    return this.values[l0]! * (1 - f) + this.values[l0 + 1]! * f;
  }
}

/** The largest blur (px) any candidate depth gives in any frame under `model`. */
function maxBlur(model: BlurModel, candidates: Float64Array, diopters: Float64Array): number {
  let m = 0;
  for (const d of candidates) for (const x of diopters) m = Math.max(m, blurSigmaPx(model, d, x));
  return m;
}

/** Predicted log focus response φ for every candidate depth (rows) and frame (columns). */
function responseTable(
  model: BlurModel,
  response: Response,
  candidates: Float64Array,
  diopters: Float64Array,
): Float64Array {
  const K = diopters.length;
  const phi = new Float64Array(candidates.length * K);
  for (const [j, d] of candidates.entries())
    for (let k = 0; k < K; k++) phi[j * K + k] = response.at(blurSigmaPx(model, d, diopters[k]!));
  return phi;
}

/** One pixel's focus curve against the candidate depths of a response table. */
class PixelFit {
  private readonly wt: Float64Array;
  private readonly y: Float64Array;
  /** `fineness`: weight of the prior b = 1 (∞: b is fixed at 1). */
  constructor(
    private readonly floors: Float64Array,
    private readonly noise: FocusNoise,
    private readonly fineness = FINENESS_PRIOR,
  ) {
    this.wt = new Float64Array(floors.length);
    this.y = new Float64Array(floors.length);
  }

  private sw = 0;
  private sy = 0;
  private flat = 0;

  /** Takes pixel `i`'s focus curve; returns the frames above their floor (under 3: no fit). */
  prepare(focus: readonly Float32Array[], i: number): number {
    const { wt, y, floors, noise } = this;
    const K = floors.length;
    let peak = 0;
    for (let k = 0; k < K; k++) peak = Math.max(peak, focus[k]![i]! - floors[k]!);
    if (!(peak > 0)) return 0;
    let sw = 0;
    let sy = 0;
    let syy = 0;
    let used = 0;
    for (let k = 0; k < K; k++) {
      const s = focus[k]![i]! - floors[k]!;
      if (s > 0) {
        const q = floors[k]! / s;
        wt[k] = 1 / (q * q * noise.floorNoise + noise.modelNoise);
        y[k] = Math.log(s / peak);
        used++;
      } else wt[k] = 0;
      sw += wt[k]!;
      sy += wt[k]! * y[k]!;
      syy += wt[k]! * y[k]! * y[k]!;
    }
    this.sw = sw;
    this.sy = sy;
    this.flat = syy - (sy * sy) / sw;
    return used;
  }

  /** χ² of the prepared curve against candidate `j` of the response table. */
  at(phi: Float64Array, j: number): number {
    const { wt, y, sw, sy } = this;
    const K = wt.length;
    let sp = 0;
    let spp = 0;
    let spy = 0;
    for (let k = 0, t = j * K; k < K; k++, t++) {
      const wp = wt[k]! * phi[t]!;
      sp += wp;
      spp += wp * phi[t]!;
      spy += wp * y[k]!;
    }
    // With a eliminated: χ²(b) = flat − 2bC + b²V + κ(b − 1)², C and V the weighted
    // covariance of φ with y and variance of φ; the κ term keeps the texture's fineness b
    // near the scene's (1), so no candidate explains one noisy frame by a steep curve.
    const V = spp - (sp * sp) / sw;
    const C = spy - (sp * sy) / sw;
    const kappa = this.fineness;
    // b < 0 would be a sharper image with more blur.
    const b = kappa === Number.POSITIVE_INFINITY ? 1 : Math.max(0, (C + kappa) / (V + kappa));
    const prior = kappa === Number.POSITIVE_INFINITY ? 0 : kappa * (b - 1) * (b - 1);
    return Math.max(0, this.flat - 2 * b * C + b * b * V + prior);
  }

  /**
   * The best candidate, coarse to fine: every other candidate first, then the neighbours of the
   * best of those (χ² is smooth in depth at the candidates' spacing). `chi` holds the χ² of
   * every candidate evaluated, +∞ elsewhere.
   */
  search(phi: Float64Array, chi: Float64Array): number {
    const M = chi.length;
    chi.fill(Number.POSITIVE_INFINITY);
    let best = 0;
    for (let j = 0; j < M; j += 2) {
      chi[j] = this.at(phi, j);
      if (chi[j]! < chi[best]!) best = j;
    }
    if ((M - 1) % 2) {
      chi[M - 1] = this.at(phi, M - 1);
      if (chi[M - 1]! < chi[best]!) best = M - 1;
    }
    // The neighbours j = best ± 1 (a counted loop: no per-pixel array).
    for (let j = best - 1; j <= best + 1; j += 2) {
      if (j < 0 || j >= M || chi[j]! < Number.POSITIVE_INFINITY) continue;
      chi[j] = this.at(phi, j);
    }
    let fine = best;
    for (let j = best - 1; j <= best + 1; j += 2)
      if (j >= 0 && j < M && chi[j]! < chi[fine]!) fine = j;
    // A neighbour won: its other neighbour too, for the parabola.
    for (let j = fine - 1; j <= fine + 1; j += 2)
      if (j >= 0 && j < M && !(chi[j]! < Number.POSITIVE_INFINITY)) chi[j] = this.at(phi, j);
    return fine;
  }
}

/** Blur-per-diopter candidates tried when the optics are unknown (px per diopter, ×√2 apart). */
const SCALE_RATIO = Math.SQRT2;
const FITTED_SCALES = Array.from({ length: 17 }, (_, i) => 0.25 * SCALE_RATIO ** i);
/** Blur sigma (px) below which an image shows no measurable blur. */
const MIN_VISIBLE_BLUR = 0.5;
/**
 * Known optics are calibrated to the stack (`calibrateBlurGain`) only where some candidate depth
 * blurs a frame at least this much (sigma, px). Below it the χ² cannot tell one scale from
 * another: `fitBlurScale` on the synthetic eval's phone (blur ≤ 0.6 px) lands on its lower bound.
 */
export const RESOLVED_BLUR_SIGMA = 0.75;
/** Pixels (the most textured) the blur per diopter is fitted on. */
const CALIBRATION_PIXELS = 800;

/**
 * The blur per diopter that best explains the stack: the scale whose predicted focus curves
 * leave the least total χ² over the most textured pixels (each at its best candidate depth),
 * and which end of the scales tried it sits on, if it does (no vertex beyond: it is a bound).
 */
export function fitBlurScale(
  ...args: Parameters<typeof fitBlurScaleSteps>
): Extract<BlurModel, { kind: "fitted" }> {
  return runStepsInline(fitBlurScaleSteps(...args));
}

function* fitBlurScaleSteps(
  focus: readonly Float32Array[],
  floors: Float64Array,
  diopters: Float64Array,
  aif: Plane,
  noise: FocusNoise,
): BandSteps<Extract<BlurModel, { kind: "fitted" }>> {
  const K = diopters.length;
  const candidates = candidateDepths(diopters);
  const widest: BlurModel = { kind: "fitted", pxPerDiopter: FITTED_SCALES.at(-1)! };
  const response = yield* Response.measure(
    aif,
    maxBlur(widest, candidates, diopters),
    mean(floors),
  );
  // A stack whose focus measure changes at all shows visible blur somewhere: scales under which
  // no frame of any candidate depth would (sub-pixel blur is invisible) are not considered.
  const span = diopters[K - 1]! - diopters[0]!;
  const visible = FITTED_SCALES.filter((pxPerDiopter) => pxPerDiopter * span >= MIN_VISIBLE_BLUR);
  // b fixed at 1: when blur is small, b·φ(α·Δx) ≈ b·α²·φ″Δx²/2 and only the scene's own
  // response (b = 1) tells α from a finer texture.
  const chis = yield* sampleChiSteps(
    focus,
    floors,
    noise,
    visible.map((pxPerDiopter) =>
      responseTable({ kind: "fitted", pxPerDiopter }, response, candidates, diopters),
    ),
  );
  // The scales ascend, so the ones left out are the first `skipped`.
  const skipped = FITTED_SCALES.length - visible.length;
  const totals = FITTED_SCALES.map((_, i) =>
    i < skipped ? Number.POSITIVE_INFINITY : chis[i - skipped]!,
  );
  const { best, offset } = lowestOnParabola(totals);
  const pxPerDiopter = FITTED_SCALES[best]! * SCALE_RATIO ** offset;
  const bound =
    best === totals.length - 1 || pxPerDiopter * span > MAX_SIGMA
      ? "highest"
      : best === totals.findIndex((t) => t < Number.POSITIVE_INFINITY)
        ? "lowest"
        : undefined;
  return { kind: "fitted", pxPerDiopter, ...(bound ? { bound } : {}) };
}

/**
 * The lowest of `totals` (evenly spaced in log scale) and the offset from it, in steps, of the
 * vertex of the parabola through it and its neighbours (0 at either end, or next to +∞).
 */
function lowestOnParabola(totals: readonly number[]): { best: number; offset: number } {
  let best = 0;
  for (let j = 1; j < totals.length; j++) if (totals[j]! < totals[best]!) best = j;
  let offset = 0;
  if (best > 0 && best < totals.length - 1 && totals[best - 1]! < Number.POSITIVE_INFINITY) {
    const [a, b, c] = [totals[best - 1]!, totals[best]!, totals[best + 1]!];
    if (a - 2 * b + c > 0) offset = (0.5 * (a - c)) / (a - 2 * b + c);
  }
  return { best, offset };
}

/** Gains on the optics' blur tried by `calibrateBlurGain`: 0.5 to 2, 2^¼ apart. */
const BLUR_GAINS = Array.from({ length: 9 }, (_, i) => 2 ** ((i - 4) / 4));

/**
 * The optics' blur as the stack shows it: the gain on the thin lens's blur whose predicted focus
 * curves leave the least χ² over the most textured pixels, as `fitBlurScale` fits a scale. EXIF and a
 * thin lens are not the lens: a nominal f-number, focus breathing, aberrations and the ISP's
 * sharpening all change the blur a frame really has.
 */
function* calibrateBlurGainSteps(
  optics: OpticsBlur,
  focus: readonly Float32Array[],
  floors: Float64Array,
  diopters: Float64Array,
  candidates: Float64Array,
  aif: Plane,
  noise: FocusNoise,
): BandSteps<OpticsBlur> {
  const top = { ...optics, gain: BLUR_GAINS.at(-1)! };
  // Measured up to the largest gain's blur, so coarser than the table at the gain found: that
  // table measures its own (reading this one there cost the main set 0.069 → 0.070).
  const response = yield* Response.measure(aif, maxBlur(top, candidates, diopters), mean(floors));
  // b fixed at 1, as in `fitBlurScale`.
  const totals = yield* sampleChiSteps(
    focus,
    floors,
    noise,
    BLUR_GAINS.map((gain) => responseTable({ ...optics, gain }, response, candidates, diopters)),
  );
  // No curve told the gains apart (none had the 3 frames a fit needs, say): the thin lens stands.
  if (!(Math.max(...totals) > Math.min(...totals))) return optics;
  const { best, offset } = lowestOnParabola(Array.from(totals));
  return { ...optics, gain: BLUR_GAINS[best]! * 2 ** (offset / 4) };
}

type OpticsBlur = Extract<BlurModel, { kind: "optics" }>;

/**
 * The most textured pixels (highest peak-to-floor ratio, on an even stride) to calibrate on,
 * most textured first (ties by index). The ratio that admits them is selected, not sorted for:
 * sorting every strided pixel took 6.5 ms of a 640×480 stack's lens fit.
 */
function calibrationSample(focus: readonly Float32Array[], floors: Float64Array): number[] {
  const n = focus[0]!.length;
  const K = focus.length;
  const step = Math.max(1, Math.floor(n / (20 * CALIBRATION_PIXELS)));
  const count = Math.ceil(n / step);
  const ratio = new Float64Array(count);
  // A frame at a time: one strided stream through memory, not K at once (≈ 2× faster here).
  for (let k = 0; k < K; k++) {
    const f = focus[k]!;
    const floor = Math.max(floors[k]!, 1e-30);
    for (let j = 0; j < count; j++) ratio[j] = Math.max(ratio[j]!, f[j * step]! / floor);
  }
  const take = Math.min(CALIBRATION_PIXELS, count);
  if (take === 0) return [];
  const cut = selectKth(ratio.slice(), count - take);
  const above: number[] = [];
  const at: number[] = [];
  for (let j = 0; j < count; j++) {
    if (ratio[j]! > cut) above.push(j);
    else if (ratio[j] === cut) at.push(j);
  }
  const chosen = above.concat(at.slice(0, take - above.length));
  chosen.sort((a, b) => ratio[b]! - ratio[a]! || a - b);
  return chosen.map((j) => j * step);
}

/**
 * Each table's total χ² over the calibration sample's focus curves (b fixed at 1), each curve at
 * its best candidate of that table: a row-band step over the tables. The sample's curves are
 * gathered once, a short array per frame, rather than read from every frame's plane again for
 * each table (the 640×480 10-frame plan: 11.7–12.2 ms on one thread against 12.4–13.6).
 */
function* sampleChiSteps(
  focus: readonly Float32Array[],
  floors: Float64Array,
  noise: FocusNoise,
  tables: readonly Float64Array[],
): BandSteps<Float64Array> {
  const size = tables[0]?.length ?? 0;
  const phis = new Float64Array(tables.length * size);
  for (const [t, phi] of tables.entries()) phis.set(phi, t * size);
  const out = new Float64Array(new SharedArrayBuffer(8 * tables.length));
  const sample = calibrationSample(focus, floors);
  // In memory every thread reads (the step's arguments are shared, not copied, with a pool).
  const curves = focus.map((plane) => {
    const values = new Float32Array(new SharedArrayBuffer(4 * sample.length));
    for (const [s, i] of sample.entries()) values[s] = plane[i]!;
    return values;
  });
  yield bandStep(sampleChiRows, { curves, floors, noise, phis, size, out }, tables.length);
  return out;
}

/** What `sampleChiRows` reads: the sample's focus curves and the tables. */
export interface SampleChiArgs {
  /** Per frame, its focus measure at each of the sample's pixels. */
  curves: readonly Float32Array[];
  floors: Float64Array;
  noise: FocusNoise;
  /** The response tables, each `size` long (candidates × frames), one after another. */
  phis: Float64Array;
  size: number;
  out: Float64Array;
}

/**
 * Total χ² of the sample against tables [t0, t1) (each on its own, its curves summed in the
 * sample's order: any split, the same bits). Each curve is prepared once for all the tables.
 */
export function sampleChiRows(a: SampleChiArgs, t0: number, t1: number): void {
  const { curves, floors, noise, phis, size, out } = a;
  const fit = new PixelFit(floors, noise, Number.POSITIVE_INFINITY);
  const chi = new Float64Array(size / curves.length);
  const tables = Array.from({ length: t1 - t0 }, (_, t) =>
    phis.subarray((t0 + t) * size, (t0 + t + 1) * size),
  );
  const totals = new Float64Array(tables.length);
  const count = curves[0]?.length ?? 0;
  for (let s = 0; s < count; s++) {
    if (fit.prepare(curves, s) < 3) continue;
    for (let t = 0; t < tables.length; t++) totals[t]! += chi[fit.search(tables[t]!, chi)]!;
  }
  out.set(totals, t0);
}

function mean(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/** Candidate depths (diopters), evenly spaced over the focus range. */
function candidateDepths(diopters: Float64Array): Float64Array {
  const K = diopters.length;
  const M = Math.max(MIN_CANDIDATES, 3 * K);
  const lo = diopters[0]!;
  const step = (diopters[K - 1]! - lo) / (M - 1);
  return Float64Array.from({ length: M }, (_, j) => lo + j * step);
}

/**
 * Depth from focus with the lens model: each candidate depth D predicts every frame's blur,
 * and so the shape of the pixel's focus curve, ln(f − floor) = a + b·φ(σₖ(D)) with φ the
 * scene's blur response; a (texture energy) and b ≥ 0 (texture fineness) are fitted per
 * candidate in closed form, frames weighted by their log-domain precision. The best candidate,
 * refined on a parabola through the χ² of its neighbours, is the depth; the χ² curvature there
 * (inflated by any misfit) its variance. Unlike a Gaussian fit this knows the curve's real
 * shape: flat where blur is under a pixel, steep beyond, truncated at the stack ends. Without
 * a known blur model the blur per diopter is fitted to the stack first (`fitBlurScale`).
 */
export function fitLensCurves(
  focus: readonly Float32Array[],
  floors: Float64Array,
  diopters: Float64Array,
  known: BlurModel | undefined,
  aif: Plane,
  noise: FocusNoise,
): LensFitResult {
  const plan = planLensFit(focus, floors, diopters, known, aif, noise);
  const grid = lensFitGrid(plan);
  fitLensGridRows(plan, focus, grid, 0, plan.gh);
  addMixedDepthVariance(plan, grid);
  return finishLensFit(plan, grid);
}

/**
 * Everything `fitLensCurves` decides before it fits pixels: the blur model, the candidate depths
 * and their response table, and the fit grid. Plain data (structured-cloneable), so the grid's
 * rows can be fitted in bands on other threads (`fitLensGridRows`).
 */
export interface LensFitPlan {
  blur: BlurModel;
  candidates: Float64Array;
  /** Predicted log focus response, candidates × frames. */
  phi: Float64Array;
  floors: Float64Array;
  noise: FocusNoise;
  /** The focus range (diopters): the nearest and farthest frame's. */
  lo: number;
  hi: number;
  /** Image size and fit grid size (every `LENS_FIT_STRIDE`th pixel). */
  width: number;
  height: number;
  gw: number;
  gh: number;
}

/** Depth (diopters) and its variance at each fit-grid point, `gw × gh`. */
export interface LensFitGrid {
  position: Float32Array;
  variance: Float32Array;
}

export function planLensFit(...args: Parameters<typeof planLensFitSteps>): LensFitPlan {
  return runStepsInline(planLensFitSteps(...args));
}

/**
 * `planLensFit` as row-band steps: each blur response's levels and each candidate model's χ² over
 * the calibration sample are independent, so they spread over a pool's threads (the same bits).
 * `focus` must then be in the pool's shared memory.
 */
export function* planLensFitSteps(
  focus: readonly Float32Array[],
  floors: Float64Array,
  diopters: Float64Array,
  known: BlurModel | undefined,
  aif: Plane,
  noise: FocusNoise,
): BandSteps<LensFitPlan> {
  const { width, height } = aif;
  const candidates = candidateDepths(diopters);
  let blur: BlurModel = known ?? (yield* fitBlurScaleSteps(focus, floors, diopters, aif, noise));
  // Known optics are calibrated to the stack where blur resolves the scale (below it the χ²
  // cannot tell a scale, as `fitBlurScale` finds on a phone at 640 px: pinned at its bound).
  if (known?.kind === "optics" && maxBlur(known, candidates, diopters) >= RESOLVED_BLUR_SIGMA)
    blur = yield* calibrateBlurGainSteps(known, focus, floors, diopters, candidates, aif, noise);
  const widest = maxBlur(blur, candidates, diopters);
  const response = yield* Response.measure(aif, widest, mean(floors));
  const phi = responseTable(blur, response, candidates, diopters);
  const S = LENS_FIT_STRIDE;
  return {
    blur,
    candidates,
    phi,
    floors,
    noise,
    lo: diopters[0]!,
    hi: diopters[diopters.length - 1]!,
    width,
    height,
    gw: Math.ceil(width / S),
    gh: Math.ceil(height / S),
  };
}

/** The fit grid's planes (`alloc` may put them in memory other threads share). */
export function lensFitGrid(
  plan: LensFitPlan,
  alloc: (length: number) => Float32Array = (length) => new Float32Array(length),
): LensFitGrid {
  return { position: alloc(plan.gw * plan.gh), variance: alloc(plan.gw * plan.gh) };
}

/**
 * Fits grid rows [gy0, gy1) of `plan` into `grid`. Every grid point depends only on its own
 * focus curve and the plan, so any split into row bands gives the same bits.
 */
export function fitLensGridRows(
  plan: LensFitPlan,
  focus: readonly Float32Array[],
  grid: LensFitGrid,
  gy0: number,
  gy1: number,
): void {
  const { candidates, phi, lo, hi, width: w, height: h, gw } = plan;
  const { position: gPos, variance: gVar } = grid;
  const M = candidates.length;
  const step = (hi - lo) / (M - 1);
  const S = LENS_FIT_STRIDE;
  const chi = new Float64Array(M);
  const fit = new PixelFit(plan.floors, plan.noise);
  for (let gy = gy0; gy < gy1; gy++) {
    const py = Math.min(h - 1, gy * S + (S >> 1));
    for (let gx = 0; gx < gw; gx++) {
      const i = py * w + Math.min(w - 1, gx * S + (S >> 1));
      const g = gy * gw + gx;
      gPos[g] = lo + 0.5 * (hi - lo);
      gVar[g] = Number.POSITIVE_INFINITY;
      const used = fit.prepare(focus, i);
      if (used < 3) continue;
      const best = fit.search(phi, chi);
      // Parabola through the best candidate's χ² and its neighbours (one-sided at the ends).
      const j = Math.min(M - 2, Math.max(1, best));
      for (let t = j - 1; t <= j + 1; t++)
        if (!(chi[t]! < Number.POSITIVE_INFINITY)) chi[t] = fit.at(phi, t);
      const c0 = chi[j - 1]!;
      const c1 = chi[j]!;
      const c2 = chi[j + 1]!;
      const curv = (c0 - 2 * c1 + c2) / (step * step); // d²χ²/dD²
      let pos = candidates[best]!;
      if (curv > 0 && best === j)
        pos = candidates[j]! + (0.5 * step * (c0 - c2)) / (c0 - 2 * c1 + c2);
      const dof = used - 3;
      const inflate = dof > 0 ? Math.max(1, chi[best]! / dof) : 1;
      gPos[g] = Math.min(hi, Math.max(lo, pos));
      // Δχ² = 1 at one sigma: var = 2 / χ²''.
      gVar[g] = curv > 0 ? (2 / curv) * inflate : Number.POSITIVE_INFINITY;
    }
  }
}

/** A grid point and its two neighbours along each of these (dx, dy) test for a mixed window. */
const MIXING_AXES = new Int8Array([1, 0, 0, 1, 1, 1, 1, -1]); // (dx, dy) pairs, flat

/**
 * Adds to every fitted grid point's variance (in place) what a window that mixes depths adds.
 * The focus window is wider than the grid's spacing, so at an occluding edge it sees both sides
 * and the sharper side's energy dominates the curve: a single-depth fit of it is precise and
 * wrong, and the more frames the more precise (with 10 frames instead of 5, twice the share of
 * edge pixels was over 0.95 confident on a large-aperture scene, with a 7% near bias at
 * 0.8–0.95). That error does not shrink with frames, so it is measured from the depths
 * themselves: along each axis, the point's departure from the mean of its two neighbours
 * (a slope leaves none) beyond what the three fits' own variances explain, averaged over the
 * axes with both neighbours fitted. A fit to the grid rows (`fitLensGridRows`) is final only
 * after this; it reads the grid as fitted, so the result does not depend on the visiting order.
 */
export function addMixedDepthVariance(plan: LensFitPlan, grid: LensFitGrid): void {
  const { gw, gh } = plan;
  // The constructor copies natively; `from` would iterate (and box) every element.
  const pos = new Float64Array(grid.position);
  const vari = new Float64Array(grid.variance);
  const fitted = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < gw && y < gh && vari[y * gw + x]! < Number.POSITIVE_INFINITY;
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const g = gy * gw + gx;
      const v = vari[g]!;
      if (!(v < Number.POSITIVE_INFINITY)) continue;
      let axes = 0;
      let excess = 0;
      for (let m = 0; m < MIXING_AXES.length; m += 2) {
        const dx = MIXING_AXES[m]!;
        const dy = MIXING_AXES[m + 1]!;
        if (!fitted(gx - dx, gy - dy) || !fitted(gx + dx, gy + dy)) continue;
        const a = (gy - dy) * gw + gx - dx;
        const b = (gy + dy) * gw + gx + dx;
        const d = pos[g]! - 0.5 * (pos[a]! + pos[b]!);
        // E[d²] = v + (vₐ + v_b)/4 when all three see the same surface.
        excess += d * d - v - 0.25 * (vari[a]! + vari[b]!);
        axes++;
      }
      if (axes > 0 && excess > 0) grid.variance[g] = v + excess / axes;
    }
  }
}

/** The fitted grid upsampled to every pixel. */
export function finishLensFit(plan: LensFitPlan, grid: LensFitGrid): LensFitResult {
  const upsampled = lensFitPlanes(plan);
  upsampleLensFitRows({ plan, grid, upsampled }, 0, plan.height);
  return { ...upsampled, blur: plan.blur };
}

/** The full-size planes a fit grid is upsampled to (`alloc`: see `lensFitGrid`). */
export function lensFitPlanes(
  plan: LensFitPlan,
  alloc: (length: number) => Float32Array = (length) => new Float32Array(length),
): LensFitGrid {
  const n = plan.width * plan.height;
  return { position: alloc(n), variance: alloc(n) };
}

/** Image rows [y0, y1) of the upsampled position and variance (rows are independent). */
export function upsampleLensFitRows(
  p: { plan: LensFitPlan; grid: LensFitGrid; upsampled: LensFitGrid },
  y0: number,
  y1: number,
): void {
  const { gw, gh, width: w } = p.plan;
  const S = LENS_FIT_STRIDE;
  upsampleGrid(p.grid.position, gw, gh, w, S, false, p.upsampled.position, y0, y1);
  upsampleGrid(p.grid.variance, gw, gh, w, S, true, p.upsampled.variance, y0, y1);
}

/**
 * Bilinear upsampling of values at the grid points (y·S + S/2, x·S + S/2) to the pixels of rows
 * [yStart, yEnd) of `out`. With `worst` (variances), a pixel next to an infinite value is
 * infinite too.
 */
function upsampleGrid(
  g: Float32Array,
  gw: number,
  gh: number,
  w: number,
  S: number,
  worst: boolean,
  out: Float32Array,
  yStart: number,
  yEnd: number,
): void {
  const half = S >> 1;
  for (let y = yStart; y < yEnd; y++) {
    const fy = Math.min(gh - 1, Math.max(0, (y - half) / S));
    const y0 = Math.floor(fy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(gw - 1, Math.max(0, (x - half) / S));
      const x0 = Math.floor(fx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const tx = fx - x0;
      const a = g[y0 * gw + x0]!;
      const b = g[y0 * gw + x1]!;
      const c = g[y1 * gw + x0]!;
      const d = g[y1 * gw + x1]!;
      out[y * w + x] =
        worst && !(Math.max(a, b, c, d) < Number.POSITIVE_INFINITY)
          ? Number.POSITIVE_INFINITY
          : (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
}
