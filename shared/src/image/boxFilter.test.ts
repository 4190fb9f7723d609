import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import {
  boxMean,
  boxRadiiForGauss,
  discreteGaussianBlur,
  discreteGaussianKernel,
  gaussianBlur,
  SMALL_SIGMA,
  separableKernel,
} from "./boxFilter.ts";

function randomImage(w: number, h: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: w * h }, () => rnd());
}

/** Windowed mean the slow way: the (2r+1)² window clipped to the image. */
function bruteBoxMean(src: Float32Array, w: number, h: number, r: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          s += src[yy * w + xx]!;
          c++;
        }
      }
      out[y * w + x] = s / c;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Sum, centroid and per-axis variances of an image seen as a 2-D distribution. */
function moments(img: Float32Array, w: number, h: number) {
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x]!;
      s += v;
      sx += v * x;
      sy += v * y;
    }
  const mx = sx / s;
  const my = sy / s;
  let vx = 0;
  let vy = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x]!;
      vx += v * (x - mx) ** 2;
      vy += v * (y - my) ** 2;
    }
  return { sum: s, mx, my, vx: vx / s, vy: vy / s };
}

describe("boxMean", () => {
  const w = 37;
  const h = 23;
  const src = randomImage(w, h, 7);

  for (const r of [0, 1, 2, 5, 11, 22, 40, 100]) {
    it(`equals the brute-force clipped window mean at radius ${r}`, () => {
      const got = boxMean(src, w, h, r);
      expect(got).toHaveLength(w * h);
      expect(maxAbsDiff(got, bruteBoxMean(src, w, h, r))).toBeLessThan(2e-6);
    });
  }

  it("radius 0 is the identity and a radius past the image is the global mean", () => {
    expect(maxAbsDiff(boxMean(src, w, h, 0), src)).toBeLessThan(1e-7);
    const mean = src.reduce((a, b) => a + b, 0) / src.length;
    const big = boxMean(src, w, h, 1000);
    for (const v of big) expect(v).toBeCloseTo(mean, 5);
  });

  it("filters in place (out = src) exactly as into a separate output", () => {
    for (const r of [0, 1, 3, 11, 30]) {
      const want = boxMean(src, w, h, r);
      const inPlace = Float32Array.from(src);
      expect(boxMean(inPlace, w, h, r, inPlace)).toBe(inPlace);
      expect(Array.from(inPlace)).toEqual(Array.from(want));
    }
  });

  it("writes into the given output and works on single rows and columns", () => {
    const out = new Float32Array(w * h);
    expect(boxMean(src, w, h, 3, out)).toBe(out);
    const row = randomImage(50, 1, 3);
    expect(maxAbsDiff(boxMean(row, 50, 1, 4), bruteBoxMean(row, 50, 1, 4))).toBeLessThan(2e-6);
    expect(maxAbsDiff(boxMean(row, 1, 50, 4), bruteBoxMean(row, 1, 50, 4))).toBeLessThan(2e-6);
  });
});

describe("gaussianBlur", () => {
  it("preserves a constant image at every sigma (borders included)", () => {
    const w = 64;
    const h = 48;
    const c = new Float32Array(w * h).fill(0.37);
    for (const sigma of [0.1, 0.8, 1.5, SMALL_SIGMA, 4, 6, 15]) {
      const out = gaussianBlur(c, w, h, sigma);
      expect(maxAbsDiff(out, c)).toBeLessThan(1e-6);
    }
  });

  it("preserves the mean of a textured image away from the borders", () => {
    const w = 96;
    const h = 96;
    const src = randomImage(w, h, 11);
    const out = gaussianBlur(src, w, h, 2);
    const meanIn = src.reduce((a, b) => a + b, 0) / src.length;
    const meanOut = out.reduce((a, b) => a + b, 0) / out.length;
    expect(meanOut).toBeCloseTo(meanIn, 2);
    // And it does smooth: the variance drops a lot.
    const v = (a: Float32Array, m: number) => a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length;
    expect(v(out, meanOut)).toBeLessThan(0.1 * v(src, meanIn));
  });

  for (const [sigma, path] of [
    [1.5, "sampled kernel"],
    [6, "box passes"],
  ] as const) {
    it(`spreads a delta impulse with variance sigma² at sigma ${sigma} (${path})`, () => {
      const w = 128;
      const h = 96;
      const delta = new Float32Array(w * h);
      delta[48 * w + 64] = 1;
      const out = gaussianBlur(delta, w, h, sigma);
      const m = moments(out, w, h);
      expect(m.sum).toBeCloseTo(1, 4); // no energy lost away from the borders
      expect(m.mx).toBeCloseTo(64, 3); // and no shift
      expect(m.my).toBeCloseTo(48, 3);
      expect(m.vx / sigma ** 2).toBeGreaterThan(0.9);
      expect(m.vx / sigma ** 2).toBeLessThan(1.1);
      expect(m.vy / sigma ** 2).toBeGreaterThan(0.9);
      expect(m.vy / sigma ** 2).toBeLessThan(1.1);
      // Peak in the middle, symmetric about it.
      expect(out[48 * w + 64]!).toBeGreaterThan(out[48 * w + 66]!);
      expect(out[48 * w + 61]!).toBeCloseTo(out[48 * w + 67]!, 6);
    });
  }

  it("leaves the image alone below sigma 0.2", () => {
    const src = randomImage(20, 10, 5);
    expect(Array.from(gaussianBlur(src, 20, 10, 0.1))).toEqual(Array.from(src));
  });
});

describe("separableKernel", () => {
  /** Per pixel, taps in order, borders clamped: the definition the fast sweeps must equal. */
  function slowConvolve(src: Float32Array, w: number, h: number, k: Float32Array) {
    const r = (k.length - 1) >> 1;
    const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
    const tmp = new Float32Array(src.length);
    const out = new Float32Array(src.length);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let j = -r; j <= r; j++) s += k[j + r]! * src[y * w + clamp(x + j, w)]!;
        tmp[y * w + x] = s;
      }
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let j = -r; j <= r; j++) s += k[j + r]! * tmp[clamp(y + j, h) * w + x]!;
        out[y * w + x] = s;
      }
    return out;
  }

  // 7 taps is the spelled-out path; the others go a few taps per sweep.
  for (const taps of [1, 3, 5, 7, 9, 13]) {
    it(`equals the per-pixel convolution exactly with ${taps} taps`, () => {
      const rnd = mulberry32(taps);
      const k = Float32Array.from({ length: taps }, () => rnd());
      for (const [w, h] of [
        [31, 17],
        [4, 9],
        [1, 6],
      ] as const) {
        const src = randomImage(w, h, taps + w);
        const want = slowConvolve(src, w, h, k);
        expect(Array.from(separableKernel(src, w, h, k))).toEqual(Array.from(want));
        const inPlace = Float32Array.from(src);
        separableKernel(inPlace, w, h, k, inPlace);
        expect(Array.from(inPlace)).toEqual(Array.from(want));
      }
    });
  }
});

describe("boxRadiiForGauss", () => {
  it("gives radii whose box variances add up to about sigma²", () => {
    for (const sigma of [3.5, 6, 10, 25]) {
      const radii = boxRadiiForGauss(sigma, 3);
      expect(radii).toHaveLength(3);
      // A box of width 2r+1 has variance ((2r+1)² − 1)/12.
      const v = radii.reduce((s, r) => s + ((2 * r + 1) ** 2 - 1) / 12, 0);
      expect(v / sigma ** 2).toBeGreaterThan(0.9);
      expect(v / sigma ** 2).toBeLessThan(1.1);
      for (const r of radii) expect(Number.isInteger(r)).toBe(true);
    }
  });
});

describe("discreteGaussianBlur", () => {
  it("has a kernel of variance σ² at any sigma, under a pixel too", () => {
    for (const sigma of [0.1, 0.3, 0.7, 1.5, 3]) {
      const k = discreteGaussianKernel(sigma);
      const r = (k.length - 1) / 2;
      let sum = 0;
      let variance = 0;
      for (let i = 0; i < k.length; i++) {
        sum += k[i]!;
        variance += k[i]! * (i - r) ** 2;
      }
      expect(sum).toBeCloseTo(1, 6);
      expect(variance).toBeCloseTo(sigma * sigma, 2);
    }
  });

  it("softens texture under a pixel of blur, where sampled Gaussian taps do not", () => {
    const w = 32;
    const stripes = Float32Array.from({ length: w * w }, (_, i) =>
      Math.floor((i % w) / 2) % 2 ? 1 : -1,
    );
    const contrast = (img: Float32Array) => {
      let s = 0;
      for (let y = 4; y < w - 4; y++)
        for (let x = 4; x < w - 4; x++) s += Math.abs(img[y * w + x]!);
      return s / (w - 8) ** 2;
    };
    // σ 0.3 px: a lens takes e^(−σ²) ≈ 9% off texture 4 px across (its frequency response at a
    // quarter cycle a pixel); the sampled taps take under 1%.
    expect(contrast(gaussianBlur(stripes, w, w, 0.3))).toBeGreaterThan(0.99);
    expect(contrast(discreteGaussianBlur(stripes, w, w, 0.3))).toBeCloseTo(Math.exp(-0.09), 2);
    // No blur is no change; past SMALL_SIGMA it is the box passes.
    expect(discreteGaussianBlur(stripes, w, w, 0)).toEqual(stripes);
    expect(discreteGaussianBlur(stripes, w, w, 4)).toEqual(gaussianBlur(stripes, w, w, 4));
  });
});
