import { boxMean } from "./boxFilter.ts";

/**
 * Zeroes `plane` wherever the (2r + 1)² window about a pixel (clipped at the borders) holds a
 * set pixel of `mask`: exactly where `boxMean` of the mask is above zero (a mean of 0/1 values
 * is zero only when all of them are), found from the mask's runs of set pixels instead. A
 * registered frame misses a thin border at most, a run or two per row, so this touches the
 * pixels it zeroes and little else; a mask of many runs takes the mean after all. Returns
 * which way it went.
 */
export function zeroNear(
  plane: Float32Array,
  mask: Uint8Array,
  width: number,
  height: number,
  radius: number,
): "runs" | "mean" {
  const n = width * height;
  const runs: number[] = []; // row, first, end (exclusive)
  // Native scans jump from one run's start to its end and on to the next.
  for (let p = mask.indexOf(1); p >= 0 && p < n; ) {
    const y = Math.floor(p / width);
    const rowEnd = (y + 1) * width;
    let q = mask.indexOf(0, p);
    if (q < 0 || q > rowEnd) q = rowEnd;
    runs.push(y, p - y * width, q - y * width);
    // One fill call per run and row it reaches: beyond about one call per 4 pixels the mean's
    // pass over every pixel is as cheap.
    if ((runs.length / 3) * (2 * radius + 1) > n / 4) {
      zeroByMean(plane, mask, width, height, radius);
      return "mean";
    }
    p = mask.indexOf(1, q);
  }
  for (let k = 0; k < runs.length; k += 3) {
    const y = runs[k]!;
    const x0 = Math.max(0, runs[k + 1]! - radius);
    const x1 = Math.min(width, runs[k + 2]! + radius);
    for (
      let yy = Math.max(0, y - radius), last = Math.min(height - 1, y + radius);
      yy <= last;
      yy++
    )
      plane.fill(0, yy * width + x0, yy * width + x1);
  }
  return "runs";
}

/** `zeroNear` by its definition: the window mean of the mask, everywhere. */
export function zeroByMean(
  plane: Float32Array,
  mask: Uint8Array,
  width: number,
  height: number,
  radius: number,
): void {
  const near = new Float32Array(mask); // a typed-array copy: no per-element iteration
  boxMean(near, width, height, radius, near);
  for (let i = 0; i < near.length; i++) if (near[i]! > 0) plane[i] = 0;
}
