import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import {
  IDENTITY,
  rescaleSimilarity,
  similarityRotation,
  similarityScale,
  warpSimilarity,
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
