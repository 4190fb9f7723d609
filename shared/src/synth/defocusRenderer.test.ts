import { describe, expect, it } from "vitest";
import { gaussianBlur } from "../image/boxFilter.ts";
import { type Plane, plane, type RgbImage } from "../image/types.ts";
import { cocDiameterPx, psfSigmaPx, type ThinLens } from "../optics/thinLens.ts";
import {
  defaultLayerCount,
  discKernel,
  fillDepthHoles,
  focusSweep,
  MAX_LAYERS,
  MIN_LAYERS,
  renderDefocus,
} from "./defocusRenderer.ts";

const LENS: ThinLens = { focalLengthMm: 25, fNumber: 2, sensorWidthMm: 12 };

function rgbFrom(w: number, h: number, value: (x: number, y: number) => number): RgbImage {
  const data = new Float32Array(3 * w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = value(x, y);
      const i = 3 * (y * w + x);
      data[i] = v;
      data[i + 1] = v;
      data[i + 2] = v;
    }
  return { width: w, height: h, data };
}

function depthFrom(w: number, h: number, depth: (x: number, y: number) => number): Plane {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = depth(x, y);
  return plane(w, h, data);
}

/** Green channel of pixel (x, y). */
const at = (img: RgbImage, x: number, y: number) => img.data[3 * (y * img.width + x) + 1]!;

describe("renderDefocus on a step edge", () => {
  const W = 200;
  const H = 40;
  const edge = rgbFrom(W, H, (x) => (x < W / 2 ? 0.2 : 0.8));

  /** Standard deviation of the derivative of the middle row: the edge spread in pixels. */
  function edgeSpread(img: RgbImage): number {
    const y = H >> 1;
    let s = 0;
    let sx = 0;
    let sxx = 0;
    for (let x = 0; x < W - 1; x++) {
      const d = at(img, x + 1, y) - at(img, x, y);
      s += d;
      sx += d * x;
      sxx += d * x * x;
    }
    const m = sx / s;
    return Math.sqrt(sxx / s - m * m);
  }

  // Plane depth and focus distances giving PSF sigmas from ~1.5 to ~8 px at 200 px wide.
  const cases: [number, number][] = [
    [0.2, 0.25],
    [0.2, 0.15],
    [0.2, 0.4],
    [0.2, 1.0],
    [0.15, 2.0],
  ];

  for (const [depth, focus] of cases) {
    it(`blurs a plane at ${depth} m focused at ${focus} m by the thin-lens PSF`, () => {
      const sigma = psfSigmaPx(cocDiameterPx(depth, focus, LENS, W));
      expect(sigma).toBeGreaterThan(1);
      expect(sigma).toBeLessThan(8.5);
      const out = renderDefocus(
        edge,
        depthFrom(W, H, () => depth),
        LENS,
        focus,
      );
      const spread = edgeSpread(out);
      expect(Math.abs(spread - sigma) / sigma).toBeLessThan(0.1);
      // Blur moves no light: far from the edge the levels are unchanged, the step is kept.
      expect(at(out, 2, H >> 1)).toBeCloseTo(0.2, 4);
      expect(at(out, W - 3, H >> 1)).toBeCloseTo(0.8, 4);
      expect(at(out, W / 2 - 1, H >> 1) + at(out, W / 2, H >> 1)).toBeCloseTo(1.0, 1);
    });
  }

  it("the tested cases span sigmas from below 2 px to above 7 px", () => {
    const sigmas = cases.map(([d, f]) => psfSigmaPx(cocDiameterPx(d, f, LENS, W)));
    expect(Math.min(...sigmas)).toBeLessThan(2);
    expect(Math.max(...sigmas)).toBeGreaterThan(7);
  });

  it("keeps the edge sharp in focus", () => {
    const out = renderDefocus(
      edge,
      depthFrom(W, H, () => 0.7),
      LENS,
      0.7,
    );
    for (let y = 0; y < H; y += 7)
      for (let x = 0; x < W; x++) expect(at(out, x, y)).toBeCloseTo(x < W / 2 ? 0.2 : 0.8, 6);
  });
});

describe("renderDefocus occlusion", () => {
  const W = 128;
  const H = 96;
  // A bright near square (0.3 m) in front of a dark far background (3 m).
  const X0 = 44;
  const X1 = 84; // exclusive
  const Y0 = 28;
  const Y1 = 68;
  const inSquare = (x: number, y: number) => x >= X0 && x < X1 && y >= Y0 && y < Y1;
  const NEAR = 0.3;
  const FAR = 3;
  const BRIGHT = 1.0;
  const DARK = 0.1;
  const scene = rgbFrom(W, H, (x, y) => (inSquare(x, y) ? BRIGHT : DARK));
  const depth = depthFrom(W, H, (x, y) => (inSquare(x, y) ? NEAR : FAR));

  it("spreads a blurred near object over the in-focus background", () => {
    const sigmaNear = psfSigmaPx(cocDiameterPx(NEAR, FAR, LENS, W));
    expect(sigmaNear).toBeGreaterThan(2); // a visible blur
    const out = renderDefocus(scene, depth, LENS, FAR);
    const yMid = (Y0 + Y1) >> 1;
    // Just outside the square's left and right edges the background is lit by the near blur.
    expect(at(out, X0 - 2, yMid)).toBeGreaterThan(DARK + 0.1);
    expect(at(out, X1 + 1, yMid)).toBeGreaterThan(DARK + 0.1);
    // Brighter the closer to the edge; far from the square the background is untouched.
    expect(at(out, X0 - 1, yMid)).toBeGreaterThan(at(out, X0 - 4, yMid));
    expect(at(out, 3, 3)).toBeCloseTo(DARK, 5);
    // Exactly the "over" operator outside the square: near colour × its blurred coverage a,
    // over the sharp background: a·BRIGHT + (1 − a)·DARK.
    const mask = Float32Array.from({ length: W * H }, (_, i) =>
      inSquare(i % W, Math.floor(i / W)) ? 1 : 0,
    );
    const a = gaussianBlur(mask, W, H, sigmaNear);
    let checked = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (inSquare(x, y)) continue;
        const ai = a[y * W + x]!;
        expect(at(out, x, y)).toBeCloseTo(ai * BRIGHT + (1 - ai) * DARK, 4);
        if (ai > 0.05) checked++;
      }
    expect(checked).toBeGreaterThan(100);
  });

  it("does not leak the blurred background over an in-focus occluder", () => {
    const sigmaFar = psfSigmaPx(cocDiameterPx(FAR, NEAR, LENS, W));
    expect(sigmaFar).toBeGreaterThan(2); // the background is visibly blurred
    const out = renderDefocus(scene, depth, LENS, NEAR);
    for (let y = Y0; y < Y1; y++) {
      for (const x of [X0, X0 + 1, X1 - 2, X1 - 1]) expect(at(out, x, y)).toBeCloseTo(BRIGHT, 4);
    }
    for (let x = X0; x < X1; x++) {
      expect(at(out, x, Y0)).toBeCloseTo(BRIGHT, 4);
      expect(at(out, x, Y1 - 1)).toBeCloseTo(BRIGHT, 4);
    }
    // Outside, the background stays the background colour: it is dark, blurred only with
    // itself (normalised by its coverage), not brightened by the sharp square.
    const yMid = (Y0 + Y1) >> 1;
    expect(at(out, X0 - 1, yMid)).toBeCloseTo(DARK, 4);
    expect(at(out, X1, yMid)).toBeCloseTo(DARK, 4);
  });

  it("refuses depth maps with holes", () => {
    const holey = depthFrom(W, H, (x) => (x === 5 ? 0 : 1));
    expect(() => renderDefocus(scene, holey, LENS, 1)).toThrow(/hole-free/);
  });

  it("uses between MIN_LAYERS and MAX_LAYERS layers, more for a deeper scene", () => {
    const shallow = defaultLayerCount(
      depthFrom(W, H, (x) => (x < 64 ? 1 : 1.01)),
      LENS,
      [1],
      W,
    );
    expect(shallow).toBe(MIN_LAYERS);
    const deep = defaultLayerCount(depth, LENS, [NEAR, FAR], 4000);
    expect(deep).toBe(MAX_LAYERS);
    const mid = defaultLayerCount(depth, LENS, [FAR], W);
    // Blur spans |coc(0.3 m) − coc(3 m)| px at focus 3 m; one layer per 0.75 px.
    const span = cocDiameterPx(NEAR, FAR, LENS, W) - cocDiameterPx(FAR, FAR, LENS, W);
    expect(mid).toBe(Math.min(MAX_LAYERS, Math.max(MIN_LAYERS, Math.ceil(span / 0.75))));
  });
});

describe("fillDepthHoles", () => {
  it("fills zeros and keeps every valid value", () => {
    const w = 24;
    const h = 18;
    const d = depthFrom(w, h, (x) => (x < 12 ? 1 : 3));
    // A few holes: single pixels, a block, and NaN / negative ones.
    const holes = [5 * w + 3, 5 * w + 20, 0, w * h - 1, 10 * w + 6, 10 * w + 7, 11 * w + 6];
    for (const i of holes) d.data[i] = 0;
    d.data[15 * w + 2] = Number.NaN;
    d.data[15 * w + 22] = -1;
    const before = Float32Array.from(d.data);
    const out = fillDepthHoles(d);
    expect(out.width).toBe(w);
    expect(out.height).toBe(h);
    expect(d.data).toEqual(before); // the input is not modified
    for (let i = 0; i < w * h; i++) {
      const v = out.data[i]!;
      expect(v).toBeGreaterThan(0);
      if (before[i]! > 0) expect(v).toBe(before[i]);
      else expect(v).toBeCloseTo(i % w < 12 ? 1 : 3, 5); // holes deep inside one side take its value
    }
  });

  it("fills a wide hole with values within the range of its neighbours", () => {
    const w = 32;
    const h = 32;
    const d = depthFrom(w, h, (x, y) => 1 + x / 31 + y / 62);
    for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) d.data[y * w + x] = 0;
    const out = fillDepthHoles(d);
    for (let i = 0; i < w * h; i++) {
      expect(out.data[i]).toBeGreaterThanOrEqual(1);
      expect(out.data[i]).toBeLessThanOrEqual(2.5);
    }
  });

  it("returns an unchanged copy without holes and throws with no valid pixel", () => {
    const d = depthFrom(5, 4, (x, y) => 1 + x + y);
    const out = fillDepthHoles(d);
    expect(out.data).not.toBe(d.data);
    expect(Array.from(out.data)).toEqual(Array.from(d.data));
    expect(() => fillDepthHoles(plane(3, 3))).toThrow(/no valid pixel/);
  });
});

describe("focusSweep", () => {
  it("returns N distances from near to far, evenly spaced in diopters over the depth range", () => {
    // Depths uniform in diopters from 0.25 m (4 D) to 4 m (0.25 D), 1000 distinct values.
    const n = 1000;
    const depth = plane(
      n,
      1,
      Float32Array.from({ length: n }, (_, i) => 1 / (0.25 + (3.75 * i) / (n - 1))),
    );
    const sweep = focusSweep(depth, 6);
    expect(sweep).toHaveLength(6);
    // Ascending metres: nearest first (highest diopter), farthest last.
    for (let k = 1; k < sweep.length; k++) expect(sweep[k]!).toBeGreaterThan(sweep[k - 1]!);
    // Spanning the 2nd–98th percentile of diopters: 4 − 0.02·3.75 ≈ 3.925 D … 0.25 + 0.075 D.
    const sorted = Array.from(depth.data, (d) => 1 / d).sort((a, b) => a - b);
    const far = sorted[Math.floor(0.02 * (n - 1))]!;
    const near = sorted[Math.floor(0.98 * (n - 1))]!;
    expect(1 / sweep[0]!).toBeCloseTo(near, 5);
    expect(1 / sweep[5]!).toBeCloseTo(far, 5);
    expect(near).toBeCloseTo(3.92, 1);
    expect(far).toBeCloseTo(0.325, 1);
    // Even steps in diopters.
    const steps = sweep.slice(1).map((s, k) => 1 / sweep[k]! - 1 / s);
    for (const st of steps) expect(st).toBeCloseTo(steps[0]!, 6);
  });

  it("ignores holes and needs at least 2 frames", () => {
    const n = 200;
    const valid = Float32Array.from({ length: n }, (_, i) => 0.5 + (2.5 * i) / (n - 1));
    const holey = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) holey[2 * i + 1] = valid[i]!; // every other pixel a hole
    const a = focusSweep(plane(n, 1, valid), 4);
    const b = focusSweep(plane(2 * n, 1, holey), 4);
    expect(b).toEqual(a);
    for (const f of b) {
      expect(f).toBeGreaterThan(0.5);
      expect(f).toBeLessThan(3);
    }
    expect(() => focusSweep(plane(n, 1, valid), 1)).toThrow(RangeError);
  });
});

describe("discKernel", () => {
  it("is a normalised, area-sampled disc: the pixel itself under a pixel, radius²/4 per axis above", () => {
    expect(Array.from(discKernel(0.3).weights)).toEqual([1]);
    const { size, weights } = discKernel(3);
    expect(size).toBe(7);
    let sum = 0;
    let varX = 0;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        sum += weights[y * size + x]!;
        varX += weights[y * size + x]! * (x - 3) ** 2;
      }
    expect(sum).toBeCloseTo(1, 5);
    // A uniform disc of radius R has per-axis variance R²/4 (plus 1/12 from pixel area sampling).
    expect(varX).toBeCloseTo(9 / 4 + 1 / 12, 1);
  });

  it("renders with the disc PSF when asked: a sharp edge spreads over the disc's radius only", () => {
    const w = 64;
    const h = 8;
    const sharp: RgbImage = {
      width: w,
      height: h,
      data: Float32Array.from({ length: 3 * w * h }, (_, i) =>
        Math.floor(i / 3) % w < 32 ? 0 : 1,
      ),
    };
    const depth = plane(w, h, new Float32Array(w * h).fill(1));
    const lens: ThinLens = { focalLengthMm: 25, fNumber: 2, sensorWidthMm: 12 };
    const out = renderDefocus(sharp, depth, lens, 0.5, { psf: "disc" });
    const radius = cocDiameterPx(1, 0.5, lens, w) / 2;
    const row = 4 * w;
    // Beyond the radius the edge has not moved; inside it, it is blurred.
    expect(out.data[3 * (row + 32 - Math.ceil(radius) - 1)]).toBeCloseTo(0, 5);
    expect(out.data[3 * (row + 32 + Math.ceil(radius))]).toBeCloseTo(1, 5);
    expect(out.data[3 * (row + 31)]).toBeGreaterThan(0.05);
  });
});

describe("renderDefocus supersampled", () => {
  // Vertical stripes 4 px wide: texture a sub-pixel blur softens, but only a little.
  const w = 64;
  const h = 16;
  const stripes = rgbFrom(w, h, (x) => (Math.floor(x / 2) % 2 ? 0.8 : 0.2));
  const depth = depthFrom(w, h, () => 1);
  /** The focus distance (m, beyond 1 m) at which a point at 1 m blurs by `sigma` px. */
  const focusFor = (sigma: number) => {
    let lo = 1;
    let hi = 100;
    for (let i = 0; i < 60; i++) {
      const mid = 0.5 * (lo + hi);
      if (psfSigmaPx(cocDiameterPx(1, mid, LENS, w)) < sigma) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  /** Mean absolute departure from the stripes' mean over the middle rows: their contrast. */
  const contrast = (img: RgbImage) => {
    let sum = 0;
    let n = 0;
    for (let y = 4; y < h - 4; y++)
      for (let x = 4; x < w - 4; x++) {
        sum += Math.abs(at(img, x, y) - 0.5);
        n++;
      }
    return sum / n;
  };

  it("shows blur under a pixel that the plain render snaps away", () => {
    const focus = focusFor(0.15);
    // σ 0.15 px: the plain Gaussian render leaves the image as it was.
    const plain = renderDefocus(stripes, depth, LENS, focus);
    expect(contrast(plain)).toBeCloseTo(contrast(stripes), 6);
    // Rendered at 4× (σ 0.6 px there) and averaged down, the stripes lose contrast beside the
    // same supersampled render in focus.
    const sharp = renderDefocus(stripes, depth, LENS, 1, { supersample: 4 });
    const soft = renderDefocus(stripes, depth, LENS, focus, { supersample: 4 });
    expect(contrast(soft)).toBeLessThan(0.99 * contrast(sharp));
    // And more blur softens more.
    const softer = renderDefocus(stripes, depth, LENS, focusFor(0.3), { supersample: 4 });
    expect(contrast(softer)).toBeLessThan(0.97 * contrast(soft));
  });

  it("keeps the image's size and mean, and an in-focus flat image exactly", () => {
    const out = renderDefocus(stripes, depth, LENS, focusFor(0.5), { supersample: 2 });
    expect([out.width, out.height]).toEqual([w, h]);
    let mean = 0;
    for (let i = 1; i < out.data.length; i += 3) mean += out.data[i]!;
    expect(mean / (w * h)).toBeCloseTo(0.5, 2);
    const flat = rgbFrom(w, h, () => 0.3);
    const same = renderDefocus(flat, depth, LENS, 1, { supersample: 3 });
    for (const v of same.data) expect(v).toBeCloseTo(0.3, 5);
  });

  it("refuses a factor that is not a whole number of at least 1", () => {
    for (const supersample of [0, 1.5, -2, Number.NaN])
      expect(() => renderDefocus(stripes, depth, LENS, 1, { supersample })).toThrow(/supersample/);
  });
});
