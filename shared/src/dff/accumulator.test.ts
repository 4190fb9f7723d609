import { describe, expect, it } from "vitest";
import { gaussianBlur } from "../image/boxFilter.ts";
import { plane } from "../image/types.ts";
import { median, mulberry32 } from "../math/stats.ts";
import { DffAccumulator, gaussianPeak } from "./accumulator.ts";
import { defaultWindowRadius, focusMeasure } from "./focusMeasure.ts";

const W = 160;
const H = 96;
const SEAM = W / 2;
/** Blur (px) per diopter of defocus in the synthetic camera. */
const BLUR_PER_DIOPTER = 6;

function noiseTexture(seed: number): Float32Array {
  const rnd = mulberry32(seed);
  // Slightly smoothed noise: like real texture, not pure per-pixel noise.
  return gaussianBlur(
    Float32Array.from({ length: W * H }, () => rnd()),
    W,
    H,
    0.6,
  );
}

/**
 * Renders a focal stack of a scene whose pixels have depth `depthAt(x)`: each frame blurs the
 * texture with sigma proportional to the defocus in diopters, per depth region. Returns the
 * frames in ascending-diopter order (far focus first) with those diopters.
 */
function renderStack(
  texture: Float32Array,
  depthAt: (x: number) => number,
  focusM: readonly number[],
): { diopters: number[]; frames: Float32Array[] } {
  const order = [...focusM].sort((a, b) => b - a); // far first = ascending diopters
  const depths = [...new Set(Array.from({ length: W }, (_, x) => depthAt(x)))];
  const frames = order.map((f) => {
    const out = new Float32Array(W * H);
    for (const d of depths) {
      const sigma = BLUR_PER_DIOPTER * Math.abs(1 / d - 1 / f);
      const blurred = gaussianBlur(texture, W, H, sigma);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) if (depthAt(x) === d) out[y * W + x] = blurred[y * W + x]!;
    }
    return out;
  });
  return { diopters: order.map((f) => 1 / f), frames };
}

function runDff(diopters: number[], frames: Float32Array[]) {
  const acc = new DffAccumulator(W, H, diopters);
  const r = defaultWindowRadius(W, H);
  for (const g of frames) {
    const rgb = new Float32Array(3 * W * H);
    for (let i = 0; i < g.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i]!;
    acc.add(focusMeasure(plane(W, H, g), r), rgb);
  }
  return acc.finish();
}

/** Values of a map over the columns [x0, x1) and rows away from the top and bottom borders. */
function region(data: Float32Array, x0: number, x1: number): number[] {
  const out: number[] = [];
  for (let y = 10; y < H - 10; y++) for (let x = x0; x < x1; x++) out.push(data[y * W + x]!);
  return out;
}

const FOCUS_M = [0.4, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0];

describe("DffAccumulator", () => {
  it("recovers both depths of a two-plane scene", () => {
    const NEAR = 0.5;
    const FAR = 2.0;
    const texture = noiseTexture(9);
    const { diopters, frames } = renderStack(texture, (x) => (x < SEAM ? NEAR : FAR), FOCUS_M);
    const res = runDff(diopters, frames);
    expect(res.depth.width).toBe(W);
    expect(res.depth.height).toBe(H);
    const left = median(region(res.depth.data, 10, SEAM - 15));
    const right = median(region(res.depth.data, SEAM + 15, W - 10));
    expect(Math.abs(left - NEAR) / NEAR).toBeLessThan(0.1);
    expect(Math.abs(right - FAR) / FAR).toBeLessThan(0.1);
    // The sharpest frame is the one focused at each plane: ascending-diopter order is
    // 3, 2, 1.5, 1, 0.7, 0.5, 0.4 m, so 0.5 m is index 5 and 2 m index 1.
    const peakLeft = median(region(Float32Array.from(res.peakFrame), 10, SEAM - 15));
    const peakRight = median(region(Float32Array.from(res.peakFrame), SEAM + 15, W - 10));
    expect(peakLeft).toBe(5);
    expect(peakRight).toBe(1);
    // The all-in-focus image takes each half from its sharp frame: it equals the texture there.
    let err = 0;
    let n = 0;
    for (let y = 10; y < H - 10; y++)
      for (const x of [20, 40, 120, 140]) {
        err += Math.abs(res.allInFocus.data[3 * (y * W + x)]! - texture[y * W + x]!);
        n++;
      }
    expect(err / n).toBeLessThan(0.01);
    // Confident where focus is unambiguous.
    expect(median(region(res.confidence.data, 10, SEAM - 15))).toBeGreaterThan(0.5);
    for (const c of res.confidence.data) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
    }
  });

  it("interpolates a depth between two focus positions", () => {
    // 0.8 m (1.25 D) lies between the 1.0 m and 0.7 m frames (1 D and 1.43 D).
    const texture = noiseTexture(10);
    const { diopters, frames } = renderStack(texture, () => 0.8, FOCUS_M);
    const res = runDff(diopters, frames);
    const d = median(region(res.depth.data, 10, W - 10));
    expect(Math.abs(d - 0.8) / 0.8).toBeLessThan(0.1);
    // And truly between frames, not snapped to one.
    expect(d).toBeGreaterThan(0.72);
    expect(d).toBeLessThan(0.95);
  });

  it("gives a textureless region lower confidence than a textured one", () => {
    const texture = noiseTexture(11);
    // Right third: flat grey (no focus cue at all).
    for (let y = 0; y < H; y++) for (let x = 110; x < W; x++) texture[y * W + x] = 0.5;
    const { diopters, frames } = renderStack(texture, () => 1.0, FOCUS_M);
    const res = runDff(diopters, frames);
    const textured = median(region(res.confidence.data, 10, 80));
    const flat = median(region(res.confidence.data, 130, W - 5));
    expect(textured).toBeGreaterThan(0.5);
    expect(flat).toBeLessThan(0.1);
    expect(flat).toBeLessThan(textured);
  });

  it("rejects non-ascending diopters, wrong sizes and wrong frame counts", () => {
    expect(() => new DffAccumulator(4, 4, [0.5, 1, 1])).toThrow(/strictly ascending/);
    expect(() => new DffAccumulator(4, 4, [2, 1, 0.5])).toThrow(/strictly ascending/);
    expect(() => new DffAccumulator(4, 4, [1])).toThrow(RangeError);
    expect(() => new DffAccumulator(4, 4, [0.5, Number.NaN, 2])).toThrow(/strictly ascending/);
    const acc = new DffAccumulator(4, 4, [0.5, 1]);
    expect(() => acc.add(new Float32Array(15), new Float32Array(48))).toThrow(RangeError);
    acc.add(new Float32Array(16), new Float32Array(48));
    expect(() => acc.finish()).toThrow(/1 of 2/);
    acc.add(new Float32Array(16), new Float32Array(48));
    expect(() => acc.add(new Float32Array(16), new Float32Array(48))).toThrow(/more frames/);
  });

  it("picks the sharpest frame and interpolates between its neighbours", () => {
    // One pixel, hand-made Gaussian focus curve in diopters peaking at 1.3 D.
    const x = [0.25, 0.5, 1, 1.5, 2.5];
    const curve = (d: number) => Math.exp(-((d - 1.3) ** 2) / (2 * 0.4 ** 2));
    const acc = new DffAccumulator(1, 1, x);
    for (const d of x) acc.add(Float32Array.of(curve(d)), Float32Array.of(d, d, d));
    const r = acc.finish();
    expect(r.peakFrame[0]).toBe(3);
    expect(r.depth.data[0]).toBeCloseTo(1 / 1.3, 5);
    expect(Array.from(r.allInFocus.data)).toEqual([1.5, 1.5, 1.5]);
  });

  it("keeps a peak on the first or last frame at that frame, with less confidence", () => {
    const x = [0.5, 1, 1.5];
    const acc = new DffAccumulator(2, 1, x);
    acc.add(Float32Array.of(9, 1), new Float32Array(6));
    acc.add(Float32Array.of(3, 3), new Float32Array(6));
    acc.add(Float32Array.of(1, 9), new Float32Array(6));
    const r = acc.finish();
    expect(r.depth.data[0]).toBeCloseTo(2, 6);
    expect(r.depth.data[1]).toBeCloseTo(1 / 1.5, 6);
    expect(Array.from(r.peakFrame)).toEqual([0, 2]);
    // The same focus values with the peak inside the stack: symmetric about 1 D here.
    const inner = new DffAccumulator(1, 1, x);
    inner.add(Float32Array.of(3), new Float32Array(3));
    inner.add(Float32Array.of(9), new Float32Array(3));
    inner.add(Float32Array.of(1), new Float32Array(3));
    const ri = inner.finish();
    expect(ri.peakFrame[0]).toBe(1);
    // Vertex of the log-parabola through (0.5, ln 3), (1, ln 9), (1.5, ln 1), evenly spaced.
    const y0 = Math.log(3);
    const y1 = Math.log(9);
    const y2 = 0;
    const vertex = 1 - (0.5 * (y2 - y0)) / (2 * (y2 - 2 * y1 + y0));
    expect(ri.depth.data[0]).toBeCloseTo(1 / vertex, 5);
    // Same curve values (same mean, peak and floor), peak inside vs on the edge: the edge one is
    // trusted exactly half as much.
    expect(ri.confidence.data[0]).toBeGreaterThan(0);
    expect(r.confidence.data[0]).toBeCloseTo(0.5 * ri.confidence.data[0]!, 6);
    expect(r.confidence.data[1]).toBeCloseTo(0.5 * ri.confidence.data[0]!, 6);
  });
});

describe("gaussianPeak", () => {
  it("returns the exact peak and width of a Gaussian sampled at uneven positions", () => {
    for (const [mu, sigma, xs] of [
      [1.37, 0.6, [0.9, 1.2, 2.1]],
      [0.42, 0.25, [0.1, 0.5, 0.6]],
      [3.1, 1.5, [2.0, 3.5, 3.6]],
    ] as const) {
      const f = (x: number) => 2.5 * Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma));
      const p = gaussianPeak(xs[0], f(xs[0]), xs[1], f(xs[1]), xs[2], f(xs[2]));
      expect(Math.abs(p.position - mu)).toBeLessThan(1e-6);
      expect(Math.abs(p.width - sigma)).toBeLessThan(1e-6);
    }
  });

  it("clamps to the sampled interval and handles a flat or dipping curve", () => {
    // Rising steeply to the right: the vertex lies beyond x2.
    const f = (x: number) => Math.exp(-((x - 5) ** 2) / 2);
    expect(gaussianPeak(0, f(0), 1, f(1), 2, f(2)).position).toBe(2);
    const flat = gaussianPeak(0, 1, 1, 1, 2, 1);
    expect(flat.position).toBe(1);
    expect(flat.width).toBe(Number.POSITIVE_INFINITY);
    expect(gaussianPeak(0, 2, 1, 1, 2, 2).position).toBe(1);
  });
});
