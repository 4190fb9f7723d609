import {
  luma,
  type Plane,
  type Rgb8Image,
  type RgbImage,
  sampleUnit,
  unitToByte,
} from "../image/types.ts";
import { type Similarity, warpSamplesAt } from "../image/warp.ts";
import { selectKth } from "../math/stats.ts";
import type { BandRunner } from "../pipeline/rowBands.ts";
import {
  addMixedDepthVariance,
  type BlurModel,
  DEFAULT_FOCUS_NOISE,
  type FocusNoise,
  fitLensCurves,
  type LensFitGrid,
  type LensFitPlan,
  type LensFitResult,
  lensFitGrid,
  lensFitPlanes,
  planLensFitSteps,
} from "./lensCurve.ts";

export interface DffResult {
  /** Metric depth (m) at every pixel; trust it where `confidence` is high. */
  depth: Plane;
  /**
   * 0..1 from the fit's variance: τ²/(τ² + σ²) with σ the predicted relative depth error
   * (`CONFIDENCE_TAU` = 0.1: confidence 0.5 stands for a 10% error, 0.9 about 3%; the
   * synthetic eval measures the real error 0.9–2.0 times that, `confidenceCalibration`).
   */
  confidence: Plane;
  /** Index (into the ascending-diopter order) of the sharpest frame per pixel. */
  peakFrame: Uint8Array;
  /** Each pixel taken from its sharpest frame. */
  allInFocus: RgbImage;
  /** The same as 8-bit samples (`unitToByte`), made in the pass that made its luma. */
  allInFocus8: Rgb8Image;
  /**
   * Its luma (`toGray`), which the fit measured the scene's blur response on; in the planes'
   * memory (the bands' when fitted in bands), so the refinement can take it as its guide.
   */
  allInFocusGray: Plane;
  /** The blur model the depths were fitted with (the optics given, or fitted to the stack). */
  blur: BlurModel;
}

/**
 * The lens fit done elsewhere (as ONNX graphs): `fitGrid` fills every point of `grid` as
 * `fitLensGridRows` does over all its rows; `finish` gives what `finishLensFit` and `result`
 * give from it, depth (m) and confidence at every pixel.
 */
export interface LensFitOnGraph {
  fitGrid(plan: LensFitPlan, focus: readonly Float32Array[], grid: LensFitGrid): Promise<void>;
  finish(
    plan: LensFitPlan,
    grid: LensFitGrid,
  ): Promise<{ depth: Float32Array; confidence: Float32Array }>;
}

/**
 * A frame's colour as the composite takes it: RGB floats already registered to the reference,
 * or the decoder's samples (`RgbSamples`' data), with the transform that registers them when
 * there is one. Those are sampled only where the frame is the sharpest yet, with the bits a
 * warped float image would have given: no registered colour plane is made.
 */
export type FrameColour =
  | Float32Array
  | { samples: Uint8Array | Uint16Array; transform?: Similarity };

/** Relative depth error (1σ) at which confidence is 0.5. */
export const CONFIDENCE_TAU = 0.1;

/**
 * Depth from focus: frames are added one at a time, each at its index in ascending diopter
 * order (far to near), in any order: a pool's frames arrive as they finish. Each frame's focus
 * measure is kept (one float per pixel and frame) so that `finish` can fit every pixel's whole
 * focus curve, against every frame's own noise floor, with the lens model (`fitLensCurves`: the
 * optics when given, else a blur per diopter fitted to the stack); the sharpest frame and the
 * all-in-focus colour are tracked as frames arrive (ties go to the farther frame, whatever the
 * order of arrival, so the result does not depend on it).
 */
export class DffAccumulator {
  readonly width: number;
  readonly height: number;
  private readonly diopters: Float64Array;
  private readonly options: FocusNoise;
  private readonly blur: BlurModel | undefined;
  private added = 0;
  /** By index in diopter order; a hole until that frame is added. */
  private focus: Float32Array[] = [];
  /** Each added frame's focus measure at the noise floors' sample pixels (`floorSample`). */
  private floorSamples: Float32Array[] = [];
  private finished = false;
  /** Whether the running peak has been set below any focus measure (`prepare`). */
  private prepared = false;
  // Not readonly: a finished accumulator lets go of its planes (`withPlanes`).
  private best: Float32Array;
  private bestIdx: Uint8Array;
  private aif: Float32Array;
  private readonly alloc: (length: number) => Float32Array;

  /**
   * `diopters`: focus positions, strictly ascending, one per frame to be added; `blur`: how blur
   * follows defocus when known (the capture's optics), else it is fitted to the stack; `alloc`:
   * where the focus measures, depth and confidence are kept (`BandRunner.alloc`: planes
   * other threads can share, for `finishInBands` and the stages after it).
   */
  constructor(
    width: number,
    height: number,
    diopters: ArrayLike<number>,
    options: Partial<FocusNoise> & {
      blur?: BlurModel;
      alloc?: (length: number) => Float32Array;
    } = {},
  ) {
    if (diopters.length < 2 || diopters.length > 255)
      throw new RangeError("DFF needs 2–255 frames");
    for (let k = 1; k < diopters.length; k++) {
      if (!(diopters[k]! > diopters[k - 1]!))
        throw new RangeError("focus positions must be strictly ascending in diopters");
    }
    this.width = width;
    this.height = height;
    this.diopters = Float64Array.from(diopters);
    const { blur, alloc, ...noise } = options;
    this.options = { ...DEFAULT_FOCUS_NOISE, ...noise };
    this.blur = blur;
    this.alloc = alloc ?? ((length) => new Float32Array(length));
    const n = width * height;
    // The running peak and composite live where the planes do: row bands of `addInBands` on
    // other threads write them in place. The peak starts below any focus measure once `prepare`
    // has run (the first add runs it if nobody has).
    this.best = this.alloc(n);
    this.bestIdx = new Uint8Array(sameMemory(this.best, n));
    this.aif = this.alloc(n * 3);
  }

  /**
   * Adds frame `k`'s focus measure (copied) and (registered) colour; `k`: its index in ascending
   * diopter order, by default the first not yet added.
   */
  add(focus: Float32Array, rgb: FrameColour, k?: number): void {
    const at = this.next(focus, rgb, k);
    this.prepare();
    addFrameRows(this.addArgs(at, focus, rgb), 0, this.height);
    this.keep(at, focus);
    this.floorSamples[at] = floorSample(focus);
  }

  /**
   * `add` with the peak and composite update in row bands on `bands` (the same bits): planes
   * already in the bands' memory are kept as they are, others are copied there first. One add
   * at a time: two frames' bands would race on the running peak.
   */
  async addInBands(
    bands: BandRunner,
    focus: Float32Array,
    rgb: FrameColour,
    k?: number,
  ): Promise<void> {
    if (bands.threads <= 1) return this.add(focus, rgb, k);
    const at = this.next(focus, rgb, k);
    this.prepare();
    const shared = bands.share(focus);
    const colour =
      rgb instanceof Float32Array
        ? bands.share(rgb)
        : { ...rgb, samples: bands.share(rgb.samples) };
    const adding = bands.rows("dffAdd", this.addArgs(at, shared, colour), this.height);
    // The bands only read the focus plane: this thread samples it for the floors meanwhile, so
    // the finish does not stride through every frame's plane on one thread.
    this.floorSamples[at] = floorSample(shared);
    await adding;
    this.focus[at] = shared;
    this.added++;
  }

  /**
   * Sets the running peak below any focus measure: the first touch of its pages, dear on a VM
   * that faults them slowly (≈ 20 ms for the 12 MP stack's 12.5 MB). A caller that has a moment
   * to spare before the first frame is in (its threads busy decoding) calls it then.
   */
  prepare(): void {
    if (this.prepared) return;
    this.best.fill(-1);
    this.prepared = true;
  }

  private next(focus: Float32Array, rgb: FrameColour, k?: number): number {
    const n = this.width * this.height;
    const K = this.diopters.length;
    const values = rgb instanceof Float32Array ? rgb : rgb.samples;
    if (focus.length !== n || values.length !== 3 * n)
      throw new RangeError("frame size differs from the accumulator's");
    if (this.added >= K) throw new RangeError("more frames added than focus positions given");
    if (k === undefined) {
      let first = 0;
      while (this.focus[first]) first++;
      return first;
    }
    if (!Number.isInteger(k) || k < 0 || k >= K)
      throw new RangeError(`frame index ${k} is not one of the ${K} focus positions`);
    if (this.focus[k]) throw new RangeError(`frame ${k} was already added`);
    return k;
  }

  private addArgs(k: number, focus: Float32Array, colour: FrameColour): AddFrameArgs {
    const { best, bestIdx, aif, width, height } = this;
    return { k, width, height, focus, colour, best, bestIdx, aif };
  }

  private keep(k: number, focus: Float32Array): void {
    const kept = this.alloc(focus.length);
    kept.set(focus);
    this.focus[k] = kept;
    this.added++;
  }

  finish(): DffResult {
    const floor = this.fitInputs();
    const composite = this.compositeArgs();
    compositeRows(composite, 0, this.height);
    const aif = this.plane(composite.gray);
    const fit = fitLensCurves(this.focus, floor, this.diopters, this.blur, aif, this.options);
    this.letGoOfFocus();
    return this.result(fit, composite);
  }

  /**
   * `finish` with the per-pixel fit in row bands on `bands` (the same bits for any split), or,
   * given `onGraph`, by it (the fit and finish as ONNX graphs: gpu-service/src/graphs/lensFit.ts).
   */
  async finishInBands(bands: BandRunner, onGraph?: LensFitOnGraph): Promise<DffResult> {
    const floor = this.fitInputs();
    const composite = this.compositeArgs();
    await bands.rows("dffComposite", composite, this.height);
    const aif = this.plane(composite.gray);
    const plan = await bands.steps(
      planLensFitSteps(this.focus, floor, this.diopters, this.blur, aif, this.options),
    );
    const grid = lensFitGrid(plan, (length) => bands.alloc(length));
    if (onGraph) {
      await onGraph.fitGrid(plan, this.focus, grid);
      this.letGoOfFocus();
      addMixedDepthVariance(plan, grid);
      const out = await onGraph.finish(plan, grid);
      // Into planes the later band stages can share.
      const depth = this.alloc(out.depth.length);
      depth.set(out.depth);
      const confidence = this.alloc(out.confidence.length);
      confidence.set(out.confidence);
      return this.withPlanes(depth, confidence, plan.blur, composite);
    }
    await bands.rows("lensFit", { plan, focus: this.focus, grid }, plan.gh);
    this.letGoOfFocus();
    addMixedDepthVariance(plan, grid);
    const upsampled = lensFitPlanes(plan, (length) => bands.alloc(length));
    await bands.rows("lensUpsample", { plan, grid, upsampled }, plan.height);
    const out = this.resultArgs({ ...upsampled, blur: plan.blur });
    await bands.rows("dffResult", out, this.height);
    return this.withPlanes(out.depth, out.confidence, plan.blur, composite);
  }

  /**
   * The focus planes (one per frame) are the largest thing a job holds once its frames are in,
   * and nothing after the fit reads them: with 2 jobs of the 12 MP stack in flight that is
   * 2 × 5 × 12.5 MB through the prior, alignment and refinement. So an accumulator finishes once.
   */
  private letGoOfFocus(): void {
    this.focus = [];
    this.floorSamples = [];
    this.finished = true;
  }

  /** The frames' noise floors, once every frame is in. */
  private fitInputs(): Float64Array {
    if (this.finished) throw new RangeError("DFF already finished (its focus planes are gone)");
    const K = this.diopters.length;
    if (this.added !== K) throw new RangeError(`DFF got ${this.added} of ${K} frames`);
    return noiseFloorsOfSamples(this.floorSamples);
  }

  /** The composite's luma and 8-bit samples to make, where the planes live. */
  private compositeArgs(): CompositeArgs {
    const n = this.width * this.height;
    const bytes = new Uint8Array(sameMemory(this.best, 3 * n));
    return { width: this.width, aif: this.aif, gray: this.alloc(n), bytes };
  }

  private plane(data: Float32Array): Plane {
    return { width: this.width, height: this.height, data };
  }

  private result(fit: LensFitResult, composite: CompositeArgs): DffResult {
    const out = this.resultArgs(fit);
    dffResultRows(out, 0, this.height);
    return this.withPlanes(out.depth, out.confidence, fit.blur, composite);
  }

  private resultArgs(fit: LensFitResult): DffResultArgs {
    const n = this.width * this.height;
    const { position, variance } = fit;
    return {
      width: this.width,
      position,
      variance,
      depth: this.alloc(n),
      confidence: this.alloc(n),
    };
  }

  private withPlanes(
    depth: Float32Array,
    confidence: Float32Array,
    blur: BlurModel,
    composite: CompositeArgs,
  ): DffResult {
    const { width, height } = this;
    const result = {
      depth: { width, height, data: depth },
      confidence: { width, height, data: confidence },
      peakFrame: this.bestIdx,
      allInFocus: { width, height, data: this.aif },
      allInFocus8: { width, height, data: composite.bytes },
      allInFocusGray: this.plane(composite.gray),
      blur,
    };
    // The result owns them now: an accumulator still referenced does not keep them alive.
    this.best = this.aif = new Float32Array(0);
    this.bestIdx = new Uint8Array(0);
    return result;
  }
}

/** What one frame's update of the running peak and composite reads and writes. */
export interface AddFrameArgs {
  /** The frame's index in ascending-diopter order. */
  k: number;
  width: number;
  height: number;
  focus: Float32Array;
  colour: FrameColour;
  best: Float32Array;
  bestIdx: Uint8Array;
  aif: Float32Array;
}

/**
 * Rows [y0, y1) of one frame's update: where it is sharper than all added before, or as sharp
 * and farther (a lower index), it takes over. The tie rule makes the result the same for any
 * order of arrival: the sharpest frame, the farthest of equals.
 */
export function addFrameRows(a: AddFrameArgs, y0: number, y1: number): void {
  const { k, width, focus, colour, best, bestIdx, aif } = a;
  // One loop per kind of colour: a single one over the winners, reading any kind, made whole
  // 12 MP runs 12–18% slower in two alternating pairs (its loads see three kinds of array).
  if (colour instanceof Float32Array) {
    for (let i = y0 * width, end = y1 * width; i < end; i++) {
      const f = focus[i]!;
      const b = best[i]!;
      if (f > b || (f === b && k < bestIdx[i]!)) {
        best[i] = f;
        bestIdx[i] = k;
        aif[3 * i] = colour[3 * i]!;
        aif[3 * i + 1] = colour[3 * i + 1]!;
        aif[3 * i + 2] = colour[3 * i + 2]!;
      }
    }
    return;
  }
  const { samples, transform } = colour;
  if (!transform) {
    const u = sampleUnit(samples);
    for (let i = y0 * width, end = y1 * width; i < end; i++) {
      const f = focus[i]!;
      const b = best[i]!;
      if (f > b || (f === b && k < bestIdx[i]!)) {
        best[i] = f;
        bestIdx[i] = k;
        aif[3 * i] = u[samples[3 * i]!]!;
        aif[3 * i + 1] = u[samples[3 * i + 1]!]!;
        aif[3 * i + 2] = u[samples[3 * i + 2]!]!;
      }
    }
    return;
  }
  // A row's winners first, then their registered colour in one call.
  const xs = new Int32Array(width);
  for (let y = y0; y < y1; y++) {
    let count = 0;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const f = focus[i]!;
      const b = best[i]!;
      if (f > b || (f === b && k < bestIdx[i]!)) {
        best[i] = f;
        bestIdx[i] = k;
        xs[count++] = x;
      }
    }
    if (count > 0) warpSamplesAt(samples, width, a.height, transform, y, xs, count, aif);
  }
}

/** The composite's floats, and where its luma and 8-bit samples go. */
export interface CompositeArgs {
  width: number;
  aif: Float32Array;
  gray: Float32Array;
  bytes: Uint8Array;
}

/** Rows [y0, y1) of the composite's luma (`toGray`) and bytes (`floatToBytes`), in one pass. */
export function compositeRows(a: CompositeArgs, y0: number, y1: number): void {
  const { aif, gray, bytes } = a;
  for (let i = y0 * a.width, end = y1 * a.width; i < end; i++) {
    const r = aif[3 * i]!;
    const g = aif[3 * i + 1]!;
    const b = aif[3 * i + 2]!;
    gray[i] = luma(r, g, b);
    bytes[3 * i] = unitToByte(r);
    bytes[3 * i + 1] = unitToByte(g);
    bytes[3 * i + 2] = unitToByte(b);
  }
}

export interface DffResultArgs {
  width: number;
  position: Float32Array;
  variance: Float32Array;
  depth: Float32Array;
  confidence: Float32Array;
}

/** Rows [y0, y1) of depth (1 / fitted diopters) and confidence (from the fit's variance). */
export function dffResultRows(a: DffResultArgs, y0: number, y1: number): void {
  const { position, variance, depth, confidence } = a;
  for (let i = y0 * a.width, end = y1 * a.width; i < end; i++) {
    const p = position[i]!;
    depth[i] = 1 / p;
    confidence[i] = confidenceOf(variance[i]! / (p * p));
  }
}

/** A buffer of `bytes` of the same kind as `plane`'s: shared when it is. */
function sameMemory(plane: Float32Array, bytes: number): ArrayBuffer | SharedArrayBuffer {
  return plane.buffer instanceof SharedArrayBuffer
    ? new SharedArrayBuffer(bytes)
    : new ArrayBuffer(bytes);
}

const TAU2 = CONFIDENCE_TAU * CONFIDENCE_TAU;

/** Confidence from the relative variance of depth: τ²/(τ² + σ²), 0 when the fit found no peak. */
export function confidenceOf(relVariance: number): number {
  return relVariance < Number.POSITIVE_INFINITY ? TAU2 / (TAU2 + relVariance) : 0;
}

/** About this many pixels (evenly strided) estimate the noise floors, from at least this many. */
const FLOOR_SAMPLES = 20_000;
const MIN_FLOOR_PIXELS = 100;

/**
 * Each frame's noise floor: what it measures where the scene has no focus cue. Those pixels are
 * the 10% whose focus curve has the lowest maximum (flat, dark or textureless); a frame's floor
 * is the median of its focus measure there, so a noisier frame (higher gain) has a higher one.
 */
export function noiseFloors(focus: readonly Float32Array[]): Float64Array {
  return noiseFloorsOfSamples(focus.map(floorSample));
}

/**
 * A focus plane at the pixels the noise floors are estimated on (every `step`th, about
 * FLOOR_SAMPLES of them); empty below MIN_FLOOR_PIXELS. Taken as each frame arrives, so that
 * the floors need only these small arrays once the last frame is in.
 */
export function floorSample(focus: Float32Array): Float32Array {
  const n = focus.length;
  if (n < MIN_FLOOR_PIXELS) return new Float32Array(0);
  const step = Math.max(1, Math.floor(n / FLOOR_SAMPLES));
  const out = new Float32Array(Math.ceil(n / step));
  for (let i = 0, j = 0; i < n; i += step, j++) out[j] = focus[i]!;
  return out;
}

/** `noiseFloors` from each frame's `floorSample` (the same bits). */
export function noiseFloorsOfSamples(samples: readonly Float32Array[]): Float64Array {
  const m = samples[0]!.length;
  // Too few pixels to tell flat ones from textured ones: no floor.
  if (m === 0) return new Float64Array(samples.length);
  const peak = new Float64Array(m);
  for (const f of samples) for (let j = 0; j < m; j++) peak[j] = Math.max(peak[j]!, f[j]!);
  const cut = selectKth(new Float64Array(peak), Math.floor(0.1 * (m - 1)));
  const floors = new Float64Array(samples.length);
  const values = new Float64Array(m);
  for (const [k, f] of samples.entries()) {
    let c = 0;
    for (let j = 0; j < m; j++) if (peak[j]! <= cut) values[c++] = f[j]!;
    floors[k] = selectKth(values.subarray(0, c), Math.floor(0.5 * (c - 1)));
  }
  return floors;
}
