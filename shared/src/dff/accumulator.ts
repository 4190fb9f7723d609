import type { Plane, RgbImage } from "../image/types.ts";
import { selectKth } from "../math/stats.ts";

export interface DffResult {
  /** Metric depth (m) at every pixel; trust it where `confidence` is high. */
  depth: Plane;
  /** 0..1: how sharply the focus curve peaks and how far its peak stands above the noise. */
  confidence: Plane;
  /** Index (into the ascending-diopter order) of the sharpest frame per pixel. */
  peakFrame: Uint8Array;
  /** Each pixel taken from its sharpest frame. */
  allInFocus: RgbImage;
}

/**
 * Depth from focus, streaming: frames are added one at a time in ascending diopter order (far
 * to near) and only O(pixels) state is kept, whatever the number of frames. Per pixel it keeps
 * the peak of the focus curve and its two neighbours for sub-frame interpolation in diopters.
 */
export class DffAccumulator {
  readonly width: number;
  readonly height: number;
  private readonly diopters: Float64Array;
  private added = 0;
  private readonly best: Float32Array;
  private readonly beforeBest: Float32Array;
  private readonly afterBest: Float32Array;
  private readonly last: Float32Array;
  private readonly sum: Float32Array;
  /** Each curve's minimum, at the pixels the noise floor is estimated from (every `minStep`-th). */
  private readonly min: Float32Array;
  private readonly minStep: number;
  private readonly bestIdx: Uint8Array;
  private readonly aif: Float32Array;

  /** `diopters`: focus positions, strictly ascending, one per frame to be added. */
  constructor(width: number, height: number, diopters: ArrayLike<number>) {
    if (diopters.length < 2 || diopters.length > 255)
      throw new RangeError("DFF needs 2–255 frames");
    for (let k = 1; k < diopters.length; k++) {
      if (!(diopters[k]! > diopters[k - 1]!))
        throw new RangeError("focus positions must be strictly ascending in diopters");
    }
    this.width = width;
    this.height = height;
    this.diopters = Float64Array.from(diopters);
    const n = width * height;
    this.best = new Float32Array(n).fill(-1);
    this.beforeBest = new Float32Array(n);
    this.afterBest = new Float32Array(n);
    this.last = new Float32Array(n);
    this.sum = new Float32Array(n);
    this.minStep = Math.max(1, Math.floor(n / FLOOR_SAMPLES));
    this.min = new Float32Array(Math.ceil(n / this.minStep)).fill(Number.POSITIVE_INFINITY);
    this.bestIdx = new Uint8Array(n);
    this.aif = new Float32Array(n * 3);
  }

  /** Adds the next frame's focus measure and (registered) colour. */
  add(focus: Float32Array, rgb: Float32Array): void {
    const n = this.width * this.height;
    if (focus.length !== n || rgb.length !== 3 * n)
      throw new RangeError("frame size differs from the accumulator's");
    const k = this.added;
    if (k >= this.diopters.length)
      throw new RangeError("more frames added than focus positions given");
    const { best, beforeBest, afterBest, last, sum, min, minStep, bestIdx, aif } = this;
    for (let i = 0, j = 0; i < n; i += minStep, j++) if (focus[i]! < min[j]!) min[j] = focus[i]!;
    for (let i = 0; i < n; i++) {
      const f = focus[i]!;
      sum[i]! += f;
      if (f > best[i]!) {
        beforeBest[i] = k > 0 ? last[i]! : f;
        best[i] = f;
        bestIdx[i] = k;
        afterBest[i] = f; // replaced by the next frame's value, if any
        aif[3 * i] = rgb[3 * i]!;
        aif[3 * i + 1] = rgb[3 * i + 1]!;
        aif[3 * i + 2] = rgb[3 * i + 2]!;
      } else if (bestIdx[i] === k - 1) {
        afterBest[i] = f;
      }
      last[i] = f;
    }
    this.added++;
  }

  finish(): DffResult {
    const K = this.diopters.length;
    if (this.added !== K) throw new RangeError(`DFF got ${this.added} of ${K} frames`);
    const n = this.width * this.height;
    const depth = new Float32Array(n);
    const confidence = new Float32Array(n);
    const x = this.diopters;
    // What a pixel shows when fully defocused (low percentile of the curves' minima): noise
    // plus residual texture. A peak no higher than that carries no focus cue.
    const floor = lowPercentile(this.min);
    const { bestIdx, best, beforeBest, afterBest, sum } = this;
    for (let i = 0; i < n; i++) {
      const k = bestIdx[i]!;
      const fb = best[i]!;
      const pos =
        k > 0 && k < K - 1
          ? gaussianPeakPosition(x[k - 1]!, beforeBest[i]!, x[k]!, fb, x[k + 1]!, afterBest[i]!)
          : x[k]!;
      depth[i] = 1 / pos;
      const mean = sum[i]! / K;
      // Prominence: a flat focus curve (no defocus cue, or noise only) has its peak near its mean.
      const prominence = fb > 0 ? 1 - mean / fb : 0;
      const energy = fb / (fb + floor);
      // A peak on the first or last frame may lie outside the stack: trust it less.
      const edge = k > 0 && k < K - 1 ? 1 : 0.5;
      confidence[i] = Math.max(0, Math.min(1, prominence * energy * edge));
    }
    return {
      depth: { width: this.width, height: this.height, data: depth },
      confidence: { width: this.width, height: this.height, data: confidence },
      peakFrame: this.bestIdx,
      allInFocus: { width: this.width, height: this.height, data: this.aif },
    };
  }
}

/** About this many pixels (evenly strided) estimate the noise floor. */
const FLOOR_SAMPLES = 20_000;

/** The 10th percentile of the sampled minima, kept above zero. */
function lowPercentile(values: Float32Array): number {
  const s = Float64Array.from(values);
  return Math.max(selectKth(s, Math.floor(0.1 * (s.length - 1))), 1e-12);
}

const EPS = 1e-12;

/**
 * Vertex of the parabola through (x, ln f) at three unevenly spaced positions, i.e. the peak of
 * a Gaussian focus curve; clamped to [x0, x2]. `width` is the Gaussian's sigma in diopters.
 */
export function gaussianPeak(
  x0: number,
  f0: number,
  x1: number,
  f1: number,
  x2: number,
  f2: number,
): { position: number; width: number } {
  const a = logCurvature(x0, f0, x1, f1, x2, f2);
  if (!(a < 0)) return { position: x1, width: Number.POSITIVE_INFINITY };
  return {
    position: gaussianPeakPosition(x0, f0, x1, f1, x2, f2),
    width: Math.sqrt(-1 / (2 * a)),
  };
}

/** `gaussianPeak`'s position alone, with no object: DFF calls it at every pixel. */
export function gaussianPeakPosition(
  x0: number,
  f0: number,
  x1: number,
  f1: number,
  x2: number,
  f2: number,
): number {
  // Slopes of ln f from log ratios: two logs rather than three.
  const d01 = Math.log((f1 + EPS) / (f0 + EPS)) / (x1 - x0);
  const d12 = Math.log((f2 + EPS) / (f1 + EPS)) / (x2 - x1);
  const a = (d12 - d01) / (x2 - x0); // half the second derivative
  if (!(a < 0)) return x1;
  const b = d01 - a * (x0 + x1);
  return Math.min(x2, Math.max(x0, -b / (2 * a)));
}

/** Half the second derivative of the parabola through (x, ln f). */
function logCurvature(
  x0: number,
  f0: number,
  x1: number,
  f1: number,
  x2: number,
  f2: number,
): number {
  const d01 = Math.log((f1 + EPS) / (f0 + EPS)) / (x1 - x0);
  const d12 = Math.log((f2 + EPS) / (f1 + EPS)) / (x2 - x1);
  return (d12 - d01) / (x2 - x0);
}
