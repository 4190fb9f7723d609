import { describe, expect, it } from "vitest";
import { discreteGaussianBlur, gaussianBlur } from "../image/boxFilter.ts";
import { floatToBytes, plane, sampleUnit, toGray } from "../image/types.ts";
import { warpSimilarity } from "../image/warp.ts";
import { gaussianSource, median, mulberry32 } from "../math/stats.ts";
import { inlineBands } from "../pipeline/rowBands.ts";
import { randomSamples } from "../testing/samples.ts";
import {
  CONFIDENCE_TAU,
  DffAccumulator,
  floorSample,
  noiseFloors,
  noiseFloorsOfSamples,
} from "./accumulator.ts";
import { defaultWindowRadius, focusMeasure } from "./focusMeasure.ts";
import type { BlurModel } from "./lensCurve.ts";

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
  blurPerDiopter = BLUR_PER_DIOPTER,
  noise = 0,
): { diopters: number[]; frames: Float32Array[] } {
  const order = [...focusM].sort((a, b) => b - a); // far first = ascending diopters
  const depths = [...new Set(Array.from({ length: W }, (_, x) => depthAt(x)))];
  const normal = gaussianSource(mulberry32(99));
  const frames = order.map((f) => {
    const out = new Float32Array(W * H);
    for (const d of depths) {
      const sigma = blurPerDiopter * Math.abs(1 / d - 1 / f);
      const blurred = gaussianBlur(texture, W, H, sigma);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) if (depthAt(x) === d) out[y * W + x] = blurred[y * W + x]!;
    }
    for (let i = 0; i < out.length; i++) out[i]! += noise * normal();
    return out;
  });
  return { diopters: order.map((f) => 1 / f), frames };
}

/** Depth from focus of a rendered stack; `blur` given: its optics are known (fitted otherwise). */
function runDff(diopters: number[], frames: Float32Array[], blur?: BlurModel) {
  const acc = new DffAccumulator(W, H, diopters, blur ? { blur } : {});
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

  it("composites a frame's samples, registered where they win, with the bits of its warped floats", () => {
    const { diopters, frames } = renderStack(
      noiseTexture(8),
      (x) => (x < SEAM ? 0.6 : 1.6),
      FOCUS_M,
    );
    const rnd = mulberry32(12);
    // Focus at random (a tie row too), so that every frame wins at about 1 pixel in K.
    const focus = frames.map(() =>
      Float32Array.from({ length: W * H }, () => rnd()).fill(0.5, 0, W),
    );
    const transforms = frames.map((_, k) =>
      k === 0 ? undefined : { a: 0.01 * k, b: -0.004 * k, tx: 1.3 * k - 2, ty: 0.7 - k },
    );
    for (const wide of [false, true]) {
      const samples = frames.map(() => randomSamples(3 * W * H, wide, rnd));
      const unit = sampleUnit(samples[0]!);
      const floats = new DffAccumulator(W, H, diopters);
      const asSamples = new DffAccumulator(W, H, diopters);
      for (const [k, f] of focus.entries()) {
        const t = transforms[k];
        const rgb = Float32Array.from(samples[k]!, (v) => unit[v]!);
        floats.add(f, t ? warpSimilarity(rgb, W, H, 3, t) : rgb);
        asSamples.add(f, { samples: samples[k]!, ...(t ? { transform: t } : {}) });
      }
      const want = floats.finish();
      const got = asSamples.finish();
      expect(got.allInFocus.data).toEqual(want.allInFocus.data);
      expect(got.peakFrame).toEqual(want.peakFrame);
      expect(got.depth.data).toEqual(want.depth.data);
      // Every frame won somewhere: each one's colour was sampled.
      expect(new Set(got.peakFrame).size).toBe(frames.length);
    }
  });

  it("gives the same bits whatever order the frames arrive in, ties included", () => {
    const { diopters, frames } = renderStack(
      noiseTexture(7),
      (x) => (x < SEAM ? 0.6 : 1.6),
      FOCUS_M,
    );
    const focus = frames.map((g) => focusMeasure(plane(W, H, g), 4));
    // A flat patch measures the same in every frame: the tie goes to the farthest frame.
    for (const f of focus) f.fill(0.25, 0, 3 * W);
    const rgb = frames.map((_, k) => new Float32Array(3 * W * H).fill(k + 1));
    const inOrder = new DffAccumulator(W, H, diopters);
    for (const [k, f] of focus.entries()) inOrder.add(f, rgb[k]!);
    const expected = inOrder.finish();
    expect(expected.peakFrame[0]).toBe(0);
    const reversed = new DffAccumulator(W, H, diopters);
    for (let k = focus.length - 1; k >= 0; k--) reversed.add(focus[k]!, rgb[k]!, k);
    const got = reversed.finish();
    expect(got.peakFrame).toEqual(expected.peakFrame);
    expect(got.allInFocus.data).toEqual(expected.allInFocus.data);
    expect(got.depth.data).toEqual(expected.depth.data);
    expect(got.confidence.data).toEqual(expected.confidence.data);
  });

  it("rejects a frame index out of range or added twice", () => {
    const acc = new DffAccumulator(4, 4, [0.5, 1, 2]);
    const [f, c] = [new Float32Array(16), new Float32Array(48)];
    expect(() => acc.add(f, c, 3)).toThrow(/not one of the 3/);
    expect(() => acc.add(f, c, 0.5)).toThrow(/not one of the 3/);
    acc.add(f, c, 1);
    expect(() => acc.add(f, c, 1)).toThrow(/already added/);
    acc.add(f, c); // the first not yet added: 0
    expect(() => acc.add(f, c, 0)).toThrow(/already added/);
    acc.add(f, c, 2);
    expect(() => acc.add(f, c)).toThrow(/more frames/);
  });

  it("finishes once: its focus planes are gone after the fit", () => {
    const { diopters, frames } = renderStack(noiseTexture(5), () => 1, [0.4, 0.7, 1.2, 2.5]);
    const acc = new DffAccumulator(W, H, diopters);
    for (const g of frames) acc.add(focusMeasure(plane(W, H, g), 4), new Float32Array(3 * W * H));
    expect(acc.finish().depth.data).toHaveLength(W * H);
    expect(() => acc.finish()).toThrow(/already finished/);
  });

  it("takes the farthest frame where no frame has any focus, prepared early or not", async () => {
    // Zero focus everywhere: only a running peak that starts below every measure lets the
    // farthest frame's colour in (a peak left at 0 would keep the composite black).
    const diopters = [0.5, 1, 2];
    for (const early of [false, true]) {
      for (const bands of [undefined, inlineBands(2)]) {
        const acc = new DffAccumulator(W, H, diopters);
        if (early) {
          acc.prepare();
          acc.prepare(); // idempotent
        }
        for (const k of [2, 0, 1]) {
          const rgb = new Float32Array(3 * W * H).fill((k + 1) / 4);
          if (bands) await acc.addInBands(bands, new Float32Array(W * H), rgb, k);
          else acc.add(new Float32Array(W * H), rgb, k);
        }
        const { allInFocus, peakFrame } = acc.finish();
        expect(Array.from(new Set(peakFrame))).toEqual([0]);
        expect(Array.from(new Set(allInFocus.data))).toEqual([Math.fround(1 / 4)]);
      }
    }
  });

  it("gives the composite's luma and bytes, in the planes' own memory, inline or in bands", async () => {
    const { diopters, frames } = renderStack(noiseTexture(6), () => 1, [0.4, 0.7, 1.2, 2.5]);
    for (const bands of [undefined, inlineBands(3)]) {
      const shared: Float32Array[] = [];
      const alloc = (length: number) => {
        const p = new Float32Array(new SharedArrayBuffer(4 * length));
        shared.push(p);
        return p;
      };
      const acc = new DffAccumulator(W, H, diopters, { alloc });
      for (const [k, g] of frames.entries()) {
        const rgb = new Float32Array(3 * W * H);
        // Out of [0, 1] in places: the bytes clamp.
        for (let i = 0; i < W * H; i++) rgb.fill(g[i]! * (1 + k / 10) - 0.05, 3 * i, 3 * i + 3);
        acc.add(focusMeasure(plane(W, H, g), 4), rgb);
      }
      const { allInFocus, allInFocus8, allInFocusGray } = bands
        ? await acc.finishInBands(bands)
        : acc.finish();
      expect(allInFocusGray.data).toEqual(toGray(allInFocus).data);
      expect(allInFocus8.data).toEqual(floatToBytes(allInFocus.data));
      expect(allInFocus8.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(shared).toContain(allInFocusGray.data);
    }
  });

  it("fits the blur per diopter of a stack without optics", () => {
    const texture = noiseTexture(12);
    const { diopters, frames } = renderStack(texture, (x) => (x < SEAM ? 0.6 : 1.6), FOCUS_M);
    const res = runDff(diopters, frames);
    expect(res.blur.kind).toBe("fitted");
    // The test renderer's sigma is BLUR_PER_DIOPTER · defocus.
    const fitted = res.blur.kind === "fitted" ? res.blur.pxPerDiopter : 0;
    expect(Math.abs(Math.log(fitted / BLUR_PER_DIOPTER))).toBeLessThan(Math.log(1.5));
  });

  it("uses every frame: a 10-frame stack is at least as accurate as a 5-frame one", () => {
    // Weak defocus and sensor noise, a slanted plane (every depth between the frames).
    const weak = 1.2; // at most ~2 px of blur over the stack, like a phone at 640 px
    const depthAt = (x: number) => 1 / (0.5 + (1.5 * x) / W);
    const err = (count: number) => {
      const focus = Array.from({ length: count }, (_, k) => 1 / (0.45 + (1.6 * k) / (count - 1)));
      const { diopters, frames } = renderStack(noiseTexture(13), depthAt, focus, weak, 0.01);
      const res = runDff(diopters, frames, { kind: "fitted", pxPerDiopter: weak });
      const e: number[] = [];
      for (let y = 10; y < H - 10; y++)
        for (let x = 10; x < W - 10; x++)
          e.push(Math.abs(res.depth.data[y * W + x]! * (1 / depthAt(x)) - 1));
      return median(e);
    };
    const five = err(5);
    const ten = err(10);
    expect(five).toBeLessThan(0.1);
    expect(ten).toBeLessThanOrEqual(five);
  });

  it("is confident where it is right: its confidence ranks its error", () => {
    // Texture contrast falls from left to right under constant noise: the focus cue weakens.
    const base = noiseTexture(14);
    const texture = base.map((v, i) => 0.5 + (v - 0.5) * (1 - (0.95 * (i % W)) / W));
    const { diopters, frames } = renderStack(texture, () => 0.9, FOCUS_M, 2, 0.01);
    const res = runDff(diopters, frames, { kind: "fitted", pxPerDiopter: 2 });
    const pairs: [number, number][] = [];
    for (let y = 10; y < H - 10; y++)
      for (let x = 10; x < W - 10; x++) {
        const i = y * W + x;
        pairs.push([res.confidence.data[i]!, Math.abs(res.depth.data[i]! / 0.9 - 1)]);
      }
    pairs.sort((a, b) => b[0] - a[0]);
    const top = pairs.slice(0, Math.floor(0.3 * pairs.length)).map((p) => p[1]);
    const rest = pairs.slice(Math.floor(0.3 * pairs.length)).map((p) => p[1]);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(top)).toBeLessThan(0.5 * mean(rest));
    // Calibrated: confidence 0.5 stands for a 1σ relative error of CONFIDENCE_TAU.
    const confident = pairs.filter((p) => p[0] >= 0.5).map((p) => p[1]);
    expect(median(confident)).toBeLessThan(CONFIDENCE_TAU);
  });

  it("is not confidently wrong beside an occluding edge, with 5 frames or 10", () => {
    // A near plane over a far one, rendered in layers: the near layer's blur spills across the
    // edge, so focus windows there see both depths.
    const [NEAR, FAR] = [0.5, 2.0];
    const nearTex = noiseTexture(21);
    const farTex = noiseTexture(22);
    const mask = Float32Array.from({ length: W * H }, (_, i) => (i % W < SEAM ? 1 : 0));
    const stackOf = (count: number) => {
      const focus = Array.from({ length: count }, (_, k) => 1 / (0.4 + (2.2 * k) / (count - 1)));
      const diopters = focus.map((f) => 1 / f);
      const frames = focus.map((f) => {
        const sigma = (d: number) => BLUR_PER_DIOPTER * Math.abs(1 / d - 1 / f);
        const near = discreteGaussianBlur(
          nearTex.map((v, i) => v * mask[i]!),
          W,
          H,
          sigma(NEAR),
        );
        const cover = discreteGaussianBlur(mask, W, H, sigma(NEAR));
        const far = discreteGaussianBlur(farTex, W, H, sigma(FAR));
        return near.map((v, i) => v + (1 - cover[i]!) * far[i]!);
      });
      return runDff(diopters, frames, { kind: "fitted", pxPerDiopter: BLUR_PER_DIOPTER });
    };
    for (const count of [5, 10]) {
      const res = stackOf(count);
      const confidentErrors: number[] = [];
      for (let y = 10; y < H - 10; y++)
        for (let x = SEAM - 12; x < SEAM + 12; x++) {
          const i = y * W + x;
          const truth = x < SEAM ? NEAR : FAR;
          if (res.confidence.data[i]! >= 0.8)
            confidentErrors.push(Math.abs(Math.log(res.depth.data[i]! / truth)));
        }
      // Confidence 0.8 stands for a 5% 1σ error; the two sides are ln 4 ≈ 1.4 apart. Without the
      // mixing term some confident pixels here took the other side's depth (|ln error| 0.8–1.6).
      expect(confidentErrors.length).toBeGreaterThan(100);
      expect(Math.max(...confidentErrors)).toBeLessThan(0.2);
    }
  });

  it("handles images too small to estimate a noise floor from", () => {
    const x = [0.25, 0.5, 1, 1.5, 2.5];
    const curve = (d: number) => Math.exp(-((d - 1.3) ** 2) / (2 * 0.4 ** 2));
    const acc = new DffAccumulator(1, 1, x);
    for (const d of x) acc.add(Float32Array.of(curve(d)), Float32Array.of(d, d, d));
    const r = acc.finish();
    expect(r.peakFrame[0]).toBe(3);
    expect(r.depth.data[0]).toBeGreaterThanOrEqual(1 / 2.5);
    expect(r.depth.data[0]).toBeLessThanOrEqual(1 / 0.25);
    expect(r.confidence.data[0]).toBeGreaterThanOrEqual(0);
    expect(r.confidence.data[0]).toBeLessThanOrEqual(1);
    expect(Array.from(r.allInFocus.data)).toEqual([1.5, 1.5, 1.5]);
  });
});

describe("noise floors from samples taken as frames arrive", () => {
  /** The floors as defined: medians over the 10% of sample pixels with the lowest peak. */
  function floorsByDefinition(focus: Float32Array[]): number[] {
    const n = focus[0]!.length;
    if (n < 100) return focus.map(() => 0);
    const step = Math.max(1, Math.floor(n / 20_000));
    const idx: number[] = [];
    for (let i = 0; i < n; i += step) idx.push(i);
    const peak = idx.map((i) => Math.max(0, ...focus.map((f) => f[i]!)));
    const cut = [...peak].sort((a, b) => a - b)[Math.floor(0.1 * (idx.length - 1))]!;
    return focus.map((f) => {
      const v = idx.filter((_, j) => peak[j]! <= cut).map((i) => f[i]!);
      return v.sort((a, b) => a - b)[Math.floor(0.5 * (v.length - 1))]!;
    });
  }

  it.each([50, 1000, 70_001])("gives the definition's bits on %i pixels", (n) => {
    const rnd = mulberry32(n);
    const focus = Array.from({ length: 4 }, (_, k) =>
      Float32Array.from({ length: n }, () => rnd() * (k + 1)),
    );
    const expected = floorsByDefinition(focus);
    expect(Array.from(noiseFloors(focus))).toEqual(expected);
    expect(Array.from(noiseFloorsOfSamples(focus.map(floorSample)))).toEqual(expected);
    // The samples are small: 20 000 to 40 000 values a frame, whatever the size.
    expect(floorSample(focus[0]!).length).toBeLessThanOrEqual(n < 100 ? 0 : 40_000);
  });
});
