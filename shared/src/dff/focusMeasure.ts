import { boxMean } from "../image/boxFilter.ts";
import type { Plane } from "../image/types.ts";

/**
 * Focus measure: local energy of the modified Laplacian (Nayar & Nakagawa), i.e. the window
 * mean of (|2I − I(x−1) − I(x+1)| + |2I − I(y−1) − I(y+1)|)². Running-sum window, O(pixels).
 */
export function focusMeasure(
  gray: Plane,
  windowRadius: number,
  out: Float32Array = new Float32Array(gray.data.length),
): Float32Array {
  const { width: w, height: h } = gray;
  modifiedLaplacianSquared(gray, out);
  return boxMean(out, w, h, windowRadius, out);
}

/** The squared modified Laplacian per pixel, borders mirrored (a 1-pixel side uses itself). */
function modifiedLaplacianSquared(gray: Plane, out: Float32Array): void {
  const { width: w, height: h, data: d } = gray;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = mirror(y - 1, h) * w;
    const down = mirror(y + 1, h) * w;
    out[row] = mlSquared(d, row, row + mirror(-1, w), row + mirror(1, w), up, down);
    // Interior: both horizontal neighbours exist (no closures here: they slow the hot loop).
    for (let x = 1; x < w - 1; x++) {
      const c2 = 2 * d[row + x]!;
      const v =
        Math.abs(c2 - d[row + x - 1]! - d[row + x + 1]!) + Math.abs(c2 - d[up + x]! - d[down + x]!);
      out[row + x] = v * v;
    }
    if (w > 1)
      out[row + w - 1] = mlSquared(
        d,
        row + w - 1,
        row + w - 2,
        row + w - 2,
        up + w - 1,
        down + w - 1,
      );
  }
}

/** Index i mirrored into [0, n): −1 → 1 and n → n − 2 (0 on a 1-pixel side). */
function mirror(i: number, n: number): number {
  return i < 0 ? (n > 1 ? 1 : 0) : i >= n ? Math.max(0, n - 2) : i;
}

/** The squared modified Laplacian at index c from its left, right, upper and lower neighbours. */
function mlSquared(d: Float32Array, c: number, l: number, r: number, u: number, b: number): number {
  const c2 = 2 * d[c]!;
  const v = Math.abs(c2 - d[l]! - d[r]!) + Math.abs(c2 - d[u]! - d[b]!);
  return v * v;
}

/**
 * Window radius that scales with the image: 1/60 of the short side (8 px at 480), at least 2 px.
 * Wider windows trade depth resolution for focus-curve noise; the refinement restores edges.
 */
export function defaultWindowRadius(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) / 60));
}
