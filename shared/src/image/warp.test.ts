import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { randomSamples } from "../testing/samples.ts";
import { sampleUnit } from "./types.ts";
import {
  IDENTITY,
  rescaleSimilarity,
  type Similarity,
  similarityRotation,
  similarityScale,
  warpSamplesAt,
  warpSimilarity,
  warpSimilarityPair,
} from "./warp.ts";

const W = 40;
const H = 30;

/** A smooth-ish pattern whose value at (x, y) is known in closed form: affine in x and y. */
const ramp = (x: number, y: number) => 0.01 * x + 0.003 * y + 0.1;

function rampImage(): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = ramp(x, y);
  return out;
}

describe("warpSimilarity", () => {
  it("returns the input unchanged for the identity", () => {
    const rnd = mulberry32(3);
    const src = Float32Array.from({ length: W * H }, () => rnd());
    const valid = new Uint8Array(W * H);
    const out = warpSimilarity(src, W, H, 1, IDENTITY, undefined, valid);
    expect(Array.from(out)).toEqual(Array.from(src));
    expect(valid.every((v) => v === 1)).toBe(true);
    // Interleaved channels too.
    const rgb = Float32Array.from({ length: W * H * 3 }, () => rnd());
    expect(Array.from(warpSimilarity(rgb, W, H, 3, IDENTITY))).toEqual(Array.from(rgb));
  });

  it("samples the source at x + t for an integer translation", () => {
    const rnd = mulberry32(4);
    const src = Float32Array.from({ length: W * H }, () => rnd());
    const valid = new Uint8Array(W * H);
    const out = warpSimilarity(src, W, H, 1, { a: 0, b: 0, tx: 3, ty: -2 }, undefined, valid);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const sx = x + 3;
        const sy = y - 2;
        const inside = sx <= W - 1 && sy >= 0;
        expect(valid[y * W + x]).toBe(inside ? 1 : 0);
        // Outside takes the nearest border value.
        const cx = Math.min(sx, W - 1);
        const cy = Math.max(sy, 0);
        expect(out[y * W + x]).toBeCloseTo(src[cy * W + cx]!, 6);
      }
    }
  });

  it("interpolates a sub-pixel translation bilinearly (exact on a linear ramp)", () => {
    const src = rampImage();
    const t = { a: 0, b: 0, tx: -1.25, ty: 0.5 };
    const valid = new Uint8Array(W * H);
    const out = warpSimilarity(src, W, H, 1, t, undefined, valid);
    let inside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (!valid[y * W + x]) continue;
        inside++;
        expect(out[y * W + x]).toBeCloseTo(ramp(x - 1.25, y + 0.5), 5);
      }
    }
    // Columns 0 and 1 (x − 1.25 < 0) and the last row (y + 0.5 > H − 1) fall outside.
    expect(inside).toBe((W - 2) * (H - 1));
    expect(valid[0]).toBe(0);
    expect(valid[2]).toBe(1);
    expect(valid[(H - 1) * W + 10]).toBe(0);
  });

  it("zooms and rotates about the image centre", () => {
    const src = rampImage();
    const cx = (W - 1) / 2;
    const cy = (H - 1) / 2;
    // Scale 1.1, rotation 0.05 rad: a = s cos θ − 1, b = s sin θ.
    const s = 1.1;
    const th = 0.05;
    const t = { a: s * Math.cos(th) - 1, b: s * Math.sin(th), tx: 0.7, ty: -0.4 };
    expect(similarityScale(t)).toBeCloseTo(s, 12);
    expect(similarityRotation(t)).toBeCloseTo(th, 12);
    const valid = new Uint8Array(W * H);
    const out = warpSimilarity(src, W, H, 1, t, undefined, valid);
    let checked = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dx = x - cx;
        const dy = y - cy;
        const sx = cx + (1 + t.a) * dx - t.b * dy + t.tx;
        const sy = cy + t.b * dx + (1 + t.a) * dy + t.ty;
        const inside = sx >= 0 && sy >= 0 && sx <= W - 1 && sy <= H - 1;
        expect(valid[y * W + x]).toBe(inside ? 1 : 0);
        if (inside) {
          checked++;
          expect(out[y * W + x]).toBeCloseTo(ramp(sx, sy), 5);
        }
      }
    }
    expect(checked).toBeGreaterThan(W * H * 0.6);
    expect(checked).toBeLessThan(W * H); // a zoom-in loses the border
    // The centre pixel maps to the centre plus the shift.
    expect(valid[Math.round(cy) * W + Math.round(cx)]).toBe(1);
  });

  it("handles 1-pixel-wide images without reading out of bounds", () => {
    const src = Float32Array.from([1, 2, 3, 4]);
    const out = warpSimilarity(src, 1, 4, 1, { a: 0, b: 0, tx: 0, ty: 1 });
    expect(Array.from(out)).toEqual([2, 3, 4, 4]);
  });
});

/** The warp pixel by pixel, clamping everywhere (as it was before the fast interior path). */
function slowWarp(src: Float32Array, w: number, h: number, ch: number, t: Similarity) {
  const out = new Float32Array(src.length);
  const valid = new Uint8Array(w * h);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const sx = cx + (1 + t.a) * dx - t.b * dy + t.tx;
      const sy = cy + t.b * dx + (1 + t.a) * dy + t.ty;
      valid[y * w + x] = sx >= 0 && sy >= 0 && sx <= w - 1 && sy <= h - 1 ? 1 : 0;
      const px = Math.min(Math.max(sx, 0), w - 1);
      const py = Math.min(Math.max(sy, 0), h - 1);
      const x0 = Math.min(Math.floor(px), Math.max(0, w - 2));
      const y0 = Math.min(Math.floor(py), Math.max(0, h - 2));
      const x1 = Math.min(x0 + 1, w - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const fx = px - x0;
      const fy = py - y0;
      for (let c = 0; c < ch; c++) {
        const at = (xx: number, yy: number) => src[(yy * w + xx) * ch + c]!;
        out[(y * w + x) * ch + c] =
          (1 - fx) * (1 - fy) * at(x0, y0) +
          fx * (1 - fy) * at(x1, y0) +
          (1 - fx) * fy * at(x0, y1) +
          fx * fy * at(x1, y1);
      }
    }
  }
  return { out, valid };
}

describe("warpSimilarity against a pixel-by-pixel warp", () => {
  const rnd = mulberry32(21);
  const cases: [number, number, number, Similarity][] = [
    [40, 30, 1, { a: 0.03, b: -0.02, tx: 1.7, ty: -2.2 }],
    [40, 30, 3, { a: -0.05, b: 0.01, tx: -3.1, ty: 0.4 }],
    [40, 30, 2, { a: 0.001, b: 0, tx: 0.25, ty: 0.75 }],
    [17, 9, 3, { a: 0.2, b: 0.1, tx: 6, ty: -5 }], // much of it outside
    [2, 2, 1, { a: 0, b: 0, tx: 0.5, ty: 0.5 }],
    [1, 5, 3, { a: 0.1, b: 0, tx: 0.5, ty: 0.3 }],
    [6, 1, 1, { a: -0.1, b: 0.05, tx: 0.2, ty: 0.5 }],
  ];
  for (const [w, h, ch, t] of cases) {
    it(`matches on ${w}×${h}×${ch} (borders, clamping and validity included)`, () => {
      const src = Float32Array.from({ length: w * h * ch }, () => rnd());
      const valid = new Uint8Array(w * h);
      const got = warpSimilarity(src, w, h, ch, t, undefined, valid);
      const want = slowWarp(src, w, h, ch, t);
      expect(Array.from(valid)).toEqual(Array.from(want.valid));
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want.out[i]!, 5);
    });
  }
});

describe("warpSimilarityPair", () => {
  const rnd = mulberry32(5);
  const cases: [number, number, Similarity][] = [
    [40, 30, { a: 0.03, b: -0.02, tx: 1.7, ty: -2.2 }],
    [17, 9, { a: 0.2, b: 0.1, tx: 6, ty: -5 }], // much of it outside
    [1, 5, { a: 0.1, b: 0, tx: 0.5, ty: 0.3 }],
    [6, 1, { a: -0.1, b: 0.05, tx: 0.2, ty: 0.5 }],
  ];
  for (const [w, h, t] of cases) {
    it(`gives the bits of the two separate warps on ${w}×${h}`, () => {
      const gray = Float32Array.from({ length: w * h }, () => rnd());
      const rgb = Float32Array.from({ length: 3 * w * h }, () => rnd());
      const valid = new Uint8Array(w * h);
      const wantValid = new Uint8Array(w * h);
      const got = warpSimilarityPair(gray, rgb, w, h, t, undefined, undefined, valid);
      expect(got.gray).toEqual(warpSimilarity(gray, w, h, 1, t, undefined, wantValid));
      expect(got.rgb).toEqual(warpSimilarity(rgb, w, h, 3, t));
      expect(valid).toEqual(wantValid);
    });
  }
});

describe("rescaleSimilarity", () => {
  it("scales the shift and keeps zoom and rotation", () => {
    expect(rescaleSimilarity({ a: 0.02, b: -0.01, tx: 1.5, ty: -3 }, 2)).toEqual({
      a: 0.02,
      b: -0.01,
      tx: 3,
      ty: -6,
    });
  });
});

describe("warpSamplesAt", () => {
  const rnd = mulberry32(9);
  const cases: [number, number, Similarity][] = [
    [40, 30, { a: 0.03, b: -0.02, tx: 1.7, ty: -2.2 }],
    [17, 9, { a: 0.2, b: 0.1, tx: 6, ty: -5 }], // much of it outside
    [23, 11, { a: -0.01, b: 0, tx: -30, ty: 0.4 }], // all of it outside
    [1, 5, { a: 0.1, b: 0, tx: 0.5, ty: 0.3 }],
    [6, 1, { a: -0.1, b: 0.05, tx: 0.2, ty: 0.5 }],
    [1, 1, { a: 0, b: 0, tx: 0.3, ty: -0.2 }],
  ];
  for (const wide of [false, true])
    for (const [w, h, t] of cases) {
      it(`gives the bits of warping the ${wide ? "16" : "8"}-bit samples' floats on ${w}×${h}, at any columns`, () => {
        const samples = randomSamples(3 * w * h, wide, rnd);
        const unit = sampleUnit(samples);
        const floats = Float32Array.from(samples, (v) => unit[v]!);
        const want = warpSimilarity(floats, w, h, 3, t);
        // Every column, then every other one (the rest must stay as they were).
        const all = new Float32Array(3 * w * h);
        const some = new Float32Array(3 * w * h).fill(-1);
        for (let y = 0; y < h; y++) {
          warpSamplesAt(
            samples,
            w,
            h,
            t,
            y,
            Int32Array.from({ length: w }, (_, x) => x),
            w,
            all,
          );
          const odd = Int32Array.from({ length: w }, (_, x) => x).filter((x) => x % 2 === 1);
          warpSamplesAt(samples, w, h, t, y, odd, odd.length, some);
        }
        expect(all).toEqual(want);
        for (let i = 0; i < w * h; i++) {
          const x = i % w;
          for (let c = 0; c < 3; c++)
            expect(some[3 * i + c]).toBe(x % 2 === 1 ? want[3 * i + c] : -1);
        }
      });
    }
});
