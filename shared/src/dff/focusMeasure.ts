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
  const { width: w, height: h, data: d } = gray;
  const ml = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const ym = y > 0 ? y - 1 : y + 1 < h ? y + 1 : y;
    const yp = y < h - 1 ? y + 1 : y > 0 ? y - 1 : y;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : x + 1 < w ? x + 1 : x;
      const xp = x < w - 1 ? x + 1 : x > 0 ? x - 1 : x;
      const c2 = 2 * d[y * w + x]!;
      const v =
        Math.abs(c2 - d[y * w + xm]! - d[y * w + xp]!) +
        Math.abs(c2 - d[ym * w + x]! - d[yp * w + x]!);
      ml[y * w + x] = v * v;
    }
  }
  return boxMean(ml, w, h, windowRadius, out);
}

/**
 * Window radius that scales with the image: 1/60 of the short side (8 px at 480), at least 2 px.
 * Wider windows trade depth resolution for focus-curve noise; the refinement restores edges.
 */
export function defaultWindowRadius(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) / 60));
}
