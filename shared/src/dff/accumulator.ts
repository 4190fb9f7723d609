import type { Plane, RgbImage } from "../image/types.ts";

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
  private readonly min: Float32Array;
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
    this.min = new Float32Array(n).fill(Number.POSITIVE_INFINITY);
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
    const { best, beforeBest, afterBest, last, sum, min, bestIdx, aif } = this;
    for (let i = 0; i < n; i++) {
      const f = focus[i]!;
      sum[i]! += f;
      if (f < min[i]!) min[i] = f;
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
    for (let i = 0; i < n; i++) {
      const k = this.bestIdx[i]!;
      const fb = this.best[i]!;
      let pos = x[k]!;
      if (k > 0 && k < K - 1) {
        pos = gaussianPeak(
          x[k - 1]!,
          this.beforeBest[i]!,
          x[k]!,
          fb,
          x[k + 1]!,
          this.afterBest[i]!,
        ).position;
      }
      depth[i] = 1 / pos;
      const mean = this.sum[i]! / K;
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

/** The 10th percentile of a per-pixel map (sampled), kept above zero. */
function lowPercentile(values: Float32Array): number {
  const step = Math.max(1, Math.floor(values.length / 20000));
  const s: number[] = [];
  for (let i = 0; i < values.length; i += step) s.push(values[i]!);
  s.sort((a, b) => a - b);
  return Math.max(s[Math.floor(0.1 * (s.length - 1))]!, 1e-12);
}

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
  const eps = 1e-12;
  const y0 = Math.log(f0 + eps);
  const y1 = Math.log(f1 + eps);
  const y2 = Math.log(f2 + eps);
  const d01 = (y1 - y0) / (x1 - x0);
  const d12 = (y2 - y1) / (x2 - x1);
  const a = (d12 - d01) / (x2 - x0); // half the second derivative
  if (!(a < 0)) return { position: x1, width: Number.POSITIVE_INFINITY };
  const b = d01 - a * (x0 + x1);
  const pos = -b / (2 * a);
  return { position: Math.min(x2, Math.max(x0, pos)), width: Math.sqrt(-1 / (2 * a)) };
}
