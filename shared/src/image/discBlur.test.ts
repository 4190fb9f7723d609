import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { discBlur, discKernel } from "./discBlur.ts";

/** The same blur tap by tap: each pixel's coverage of the disc, summed over the window. */
function directDiscBlur(src: Float32Array, w: number, h: number, radius: number): Float32Array {
  const reach = Math.ceil(radius + 0.5);
  const out = new Float32Array(src.length);
  const taps: [number, number, number][] = [];
  let total = 0;
  for (let dy = -reach; dy <= reach; dy++)
    for (let dx = -reach; dx <= reach; dx++) {
      let c = 0;
      for (let a = 0; a < 8; a++)
        for (let b = 0; b < 8; b++) {
          const x = dx - 0.5 + (a + 0.5) / 8;
          const y = dy - 0.5 + (b + 0.5) / 8;
          if (x * x + y * y <= radius * radius) c++;
        }
      if (c > 0) taps.push([dx, dy, c]);
      total += c;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (const [dx, dy, c] of taps) {
        const xx = Math.min(w - 1, Math.max(0, x + dx));
        const yy = Math.min(h - 1, Math.max(0, y + dy));
        s += c * src[yy * w + xx]!;
      }
      out[y * w + x] = s / total;
    }
  return out;
}

describe("discBlur", () => {
  const w = 37;
  const h = 29;
  const rnd = mulberry32(7);
  const img = Float32Array.from({ length: w * h }, () => rnd());

  it.each([0.3, 0.6, 1.2, 2.5, 5.3, 9])(
    "equals the tap-by-tap convolution with the coverage kernel (radius %s px), borders clamped",
    (radius) => {
      const fast = discBlur(img, w, h, radius);
      const direct = directDiscBlur(img, w, h, radius);
      let worst = 0;
      for (let i = 0; i < img.length; i++) worst = Math.max(worst, Math.abs(fast[i]! - direct[i]!));
      expect(worst).toBeLessThan(1e-5);
    },
  );

  it("leaves a disc inside the centre pixel as the identity, and a flat image flat", () => {
    expect(discBlur(img, w, h, 0.4)).toEqual(img);
    const flat = new Float32Array(w * h).fill(0.25);
    for (const v of discBlur(flat, w, h, 4.2)) expect(v).toBeCloseTo(0.25, 6);
  });

  it("has a resolved disc's second moment, radius² / 4 along each axis", () => {
    for (const radius of [4, 8]) {
      const { rows, total } = discKernel(radius);
      let m2 = 0;
      for (const row of rows) {
        for (let d = -row.span; d <= row.span && row.span >= 0; d++) m2 += d * d;
        row.dx.forEach((d, t) => {
          m2 += row.weight[t]! * d * d;
        });
      }
      expect(m2 / total / ((radius * radius) / 4)).toBeCloseTo(1, 1);
    }
  });
});
