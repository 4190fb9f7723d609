import { type Plane, plane } from "./types.ts";

/** Halves each side by 2×2 averaging (odd last row/column dropped). */
export function downsample2(p: Plane): Plane {
  const w = p.width >> 1;
  const h = p.height >> 1;
  const out = new Float32Array(w * h);
  const s = p.data;
  for (let y = 0; y < h; y++) {
    const r0 = 2 * y * p.width;
    const r1 = r0 + p.width;
    for (let x = 0; x < w; x++) {
      const i = 2 * x;
      out[y * w + x] = 0.25 * (s[r0 + i]! + s[r0 + i + 1]! + s[r1 + i]! + s[r1 + i + 1]!);
    }
  }
  return plane(w, h, out);
}

/** Levels from fine (index 0) to coarse, stopping before the short side drops under `minSide`. */
export function buildPyramid(p: Plane, minSide: number): Plane[] {
  const levels = [p];
  let cur = p;
  while (Math.min(cur.width, cur.height) >= 2 * minSide) {
    cur = downsample2(cur);
    levels.push(cur);
  }
  return levels;
}
