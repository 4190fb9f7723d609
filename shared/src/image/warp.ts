import { sampleUnit } from "./types.ts";

/**
 * A similarity transform about the image centre (cx, cy): a point x of the reference maps to
 * x' = c + [[1+a, -b], [b, 1+a]]·(x − c) + (tx, ty) in the moving frame. Scale is
 * |1+a + ib|, rotation its argument. Identity is all zeros.
 */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export const IDENTITY: Readonly<Similarity> = Object.freeze({ a: 0, b: 0, tx: 0, ty: 0 });

export function similarityScale(t: Similarity): number {
  return Math.hypot(1 + t.a, t.b);
}

export function similarityRotation(t: Similarity): number {
  return Math.atan2(t.b, 1 + t.a);
}

/** The same transform for an image resampled by `factor` (2 = twice the pixels per side). */
export function rescaleSimilarity(t: Similarity, factor: number): Similarity {
  return { a: t.a, b: t.b, tx: t.tx * factor, ty: t.ty * factor };
}

/**
 * Samples `src` (with `channels` interleaved values per pixel) at the positions the transform
 * maps each output pixel to, bilinearly; `valid` (optional) gets 1 where the sample fell
 * inside the source. Pixels outside take the nearest border value.
 */
export function warpSimilarity(
  src: Float32Array,
  width: number,
  height: number,
  channels: number,
  t: Similarity,
  out: Float32Array = new Float32Array(src.length),
  valid?: Uint8Array,
): Float32Array {
  const m = 1 + t.a;
  const b = t.b;
  const dx1 = width > 1 ? 1 : 0;
  const dy1 = height > 1 ? width : 0;
  // (No closures in here: variables a closure captures move to a context object, and every
  // read of them in the hot loops below gets slower.)
  for (let y = 0; y < height; y++) {
    const { sx0, sy0, lo, hi } = rowMap(t, width, height, y);
    const row = y * width;
    for (let x = 0; x < lo; x++)
      sampleClamped(src, width, height, channels, sx0 + m * x, sy0 + b * x, out, row + x, valid);
    if (valid) valid.fill(1, row + lo, row + hi);
    // The bulk of the row: no clamps, and the two common channel counts spelled out.
    if (channels === 1) {
      for (let x = lo; x < hi; x++) {
        const px = sx0 + m * x;
        const py = sy0 + b * x;
        const x0 = Math.floor(px);
        const y0 = Math.floor(py);
        const fx = px - x0;
        const fy = py - y0;
        const i = y0 * width + x0;
        const j = i + width;
        out[row + x] =
          (1 - fx) * (1 - fy) * src[i]! +
          fx * (1 - fy) * src[i + 1]! +
          (1 - fx) * fy * src[j]! +
          fx * fy * src[j + 1]!;
      }
    } else if (channels === 3) {
      for (let x = lo; x < hi; x++) {
        const px = sx0 + m * x;
        const py = sy0 + b * x;
        const x0 = Math.floor(px);
        const y0 = Math.floor(py);
        const fx = px - x0;
        const fy = py - y0;
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        const i = 3 * (y0 * width + x0);
        const j = i + 3 * width;
        const o = 3 * (row + x);
        out[o] = w00 * src[i]! + w01 * src[i + 3]! + w10 * src[j]! + w11 * src[j + 3]!;
        out[o + 1] = w00 * src[i + 1]! + w01 * src[i + 4]! + w10 * src[j + 1]! + w11 * src[j + 4]!;
        out[o + 2] = w00 * src[i + 2]! + w01 * src[i + 5]! + w10 * src[j + 2]! + w11 * src[j + 5]!;
      }
    } else {
      for (let x = lo; x < hi; x++) {
        const px = sx0 + m * x;
        const py = sy0 + b * x;
        const x0 = Math.floor(px);
        const y0 = Math.floor(py);
        const i = (y0 * width + x0) * channels;
        bilinear(src, out, (row + x) * channels, i, px - x0, py - y0, channels, dx1, dy1);
      }
    }
    for (let x = hi; x < width; x++)
      sampleClamped(src, width, height, channels, sx0 + m * x, sy0 + b * x, out, row + x, valid);
  }
  return out;
}

/**
 * Where row y of the output samples the source: column x at (sx0 + m·x, sy0 + b·x), m = 1 + a
 * (the map is affine, so along a row both coordinates are linear in x); and the columns [lo, hi)
 * whose sample lies half a pixel or more inside every edge, which need no clamping (and have
 * both bilinear neighbours: none does on a 1-pixel side).
 */
function rowMap(
  t: Similarity,
  width: number,
  height: number,
  y: number,
): { sx0: number; sy0: number; lo: number; hi: number } {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const m = 1 + t.a;
  const b = t.b;
  const dy = y - cy;
  const sx0 = cx - m * cx - b * dy + t.tx;
  const sy0 = cy + b * -cx + m * dy + t.ty;
  const [a0, a1] = span(sx0, m, 0.5, width - 1.5, width);
  const [b0, b1] = span(sy0, b, 0.5, height - 1.5, width);
  const lo = Math.max(a0, b0);
  return { sx0, sy0, lo, hi: Math.max(lo, Math.min(a1, b1)) };
}

/**
 * One sample at (px, py) clamped to the image into output pixel p, with `valid[p]` (if given)
 * set by whether it fell inside. Inside the image this is the bilinear sample of the fast path.
 */
function sampleClamped(
  src: Float32Array | Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: number,
  px: number,
  py: number,
  out: Float32Array,
  p: number,
  valid?: Uint8Array,
  unit?: Float32Array,
): void {
  const xMax = width - 1;
  const yMax = height - 1;
  if (valid) valid[p] = px >= 0 && py >= 0 && px <= xMax && py <= yMax ? 1 : 0;
  px = px < 0 ? 0 : Math.min(px, xMax);
  py = py < 0 ? 0 : Math.min(py, yMax);
  // Bilinear taps need x0 + 1 and y0 + 1 to exist; a 1-pixel image has only x0.
  const x0 = Math.min(Math.floor(px), Math.max(0, width - 2));
  const y0 = Math.min(Math.floor(py), Math.max(0, height - 2));
  const i = (y0 * width + x0) * channels;
  const dx1 = width > 1 ? 1 : 0;
  const dy1 = height > 1 ? width : 0;
  bilinear(src, out, p * channels, i, px - x0, py - y0, channels, dx1, dy1, unit);
}

/** The columns x in [0, n) where lo ≤ a + s·x ≤ hi, as [first, end). */
function span(a: number, s: number, lo: number, hi: number, n: number): [number, number] {
  if (lo > hi) return [0, 0];
  if (s === 0) return a >= lo && a <= hi ? [0, n] : [0, 0];
  const p = (lo - a) / s;
  const q = (hi - a) / s;
  if (!(Number.isFinite(p) && Number.isFinite(q))) return [0, 0]; // all through the clamped path
  const first = Math.max(0, Math.ceil(Math.min(p, q)));
  const end = Math.min(n, Math.floor(Math.max(p, q)) + 1);
  return [first, Math.max(first, end)];
}

/**
 * One bilinear sample of every channel, from source index `i` (the top-left tap) into `o`; with
 * `unit`, `src` holds samples and their floats are `unit[v]`.
 */
function bilinear(
  src: Float32Array | Uint8Array | Uint16Array,
  out: Float32Array,
  o: number,
  i: number,
  fx: number,
  fy: number,
  channels: number,
  dx1: number,
  dy1: number,
  unit?: Float32Array,
): void {
  const w00 = (1 - fx) * (1 - fy);
  const w01 = fx * (1 - fy);
  const w10 = (1 - fx) * fy;
  const w11 = fx * fy;
  const i01 = i + dx1 * channels;
  const i10 = i + dy1 * channels;
  const i11 = i10 + dx1 * channels;
  // Two loops, not one through an accessor: a closure per sample took ≈ 38 ms of pool-thread
  // time a 12 MP run (CPU profile), on the border pixels alone.
  if (unit)
    for (let c = 0; c < channels; c++)
      out[o + c] =
        w00 * unit[src[i + c]!]! +
        w01 * unit[src[i01 + c]!]! +
        w10 * unit[src[i10 + c]!]! +
        w11 * unit[src[i11 + c]!]!;
  else
    for (let c = 0; c < channels; c++)
      out[o + c] =
        w00 * src[i + c]! + w01 * src[i01 + c]! + w10 * src[i10 + c]! + w11 * src[i11 + c]!;
}

/**
 * `warpSimilarity` of a one-channel plane and an RGB image under the same transform in one
 * pass: each pixel's sample position and bilinear weights are computed once for all four
 * values. The same bits as the two separate warps (the same products in the same order).
 */
export function warpSimilarityPair(
  gray: Float32Array,
  rgb: Float32Array,
  width: number,
  height: number,
  t: Similarity,
  outGray: Float32Array = new Float32Array(gray.length),
  outRgb: Float32Array = new Float32Array(rgb.length),
  valid?: Uint8Array,
): { gray: Float32Array; rgb: Float32Array } {
  const m = 1 + t.a;
  const b = t.b;
  for (let y = 0; y < height; y++) {
    const { sx0, sy0, lo, hi } = rowMap(t, width, height, y);
    const row = y * width;
    for (let x = 0; x < lo; x++) {
      sampleClamped(gray, width, height, 1, sx0 + m * x, sy0 + b * x, outGray, row + x, valid);
      sampleClamped(rgb, width, height, 3, sx0 + m * x, sy0 + b * x, outRgb, row + x);
    }
    if (valid) valid.fill(1, row + lo, row + hi);
    for (let x = lo; x < hi; x++) {
      const px = sx0 + m * x;
      const py = sy0 + b * x;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const fx = px - x0;
      const fy = py - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const g = y0 * width + x0;
      const gj = g + width;
      outGray[row + x] =
        w00 * gray[g]! + w01 * gray[g + 1]! + w10 * gray[gj]! + w11 * gray[gj + 1]!;
      const i = 3 * g;
      const j = 3 * gj;
      const o = 3 * (row + x);
      outRgb[o] = w00 * rgb[i]! + w01 * rgb[i + 3]! + w10 * rgb[j]! + w11 * rgb[j + 3]!;
      outRgb[o + 1] = w00 * rgb[i + 1]! + w01 * rgb[i + 4]! + w10 * rgb[j + 1]! + w11 * rgb[j + 4]!;
      outRgb[o + 2] = w00 * rgb[i + 2]! + w01 * rgb[i + 5]! + w10 * rgb[j + 2]! + w11 * rgb[j + 5]!;
    }
    for (let x = hi; x < width; x++) {
      sampleClamped(gray, width, height, 1, sx0 + m * x, sy0 + b * x, outGray, row + x, valid);
      sampleClamped(rgb, width, height, 3, sx0 + m * x, sy0 + b * x, outRgb, row + x);
    }
  }
  return { gray: outGray, rgb: outRgb };
}

/**
 * Row y of `warpSimilarity(floats of src, width, height, 3, t)` at the columns xs[0, count)
 * only (the same bits), into `out` (a full-size RGB float plane), from an image of samples
 * (`RgbSamples`): for a consumer that needs the registered colour at some pixels, such as the
 * DFF composite, which takes a frame's colour only where that frame is the sharpest yet.
 */
export function warpSamplesAt(
  src: Uint8Array | Uint16Array,
  width: number,
  height: number,
  t: Similarity,
  y: number,
  xs: Int32Array,
  count: number,
  out: Float32Array,
): void {
  const u = sampleUnit(src);
  const m = 1 + t.a;
  const b = t.b;
  const { sx0, sy0, lo, hi } = rowMap(t, width, height, y);
  const row = y * width;
  for (let k = 0; k < count; k++) {
    const x = xs[k]!;
    const px = sx0 + m * x;
    const py = sy0 + b * x;
    if (x < lo || x >= hi) {
      sampleClamped(src, width, height, 3, px, py, out, row + x, undefined, u);
      continue;
    }
    const x0 = Math.floor(px);
    const y0 = Math.floor(py);
    const fx = px - x0;
    const fy = py - y0;
    const w00 = (1 - fx) * (1 - fy);
    const w01 = fx * (1 - fy);
    const w10 = (1 - fx) * fy;
    const w11 = fx * fy;
    const i = 3 * (y0 * width + x0);
    const j = i + 3 * width;
    const o = 3 * (row + x);
    out[o] = w00 * u[src[i]!]! + w01 * u[src[i + 3]!]! + w10 * u[src[j]!]! + w11 * u[src[j + 3]!]!;
    out[o + 1] =
      w00 * u[src[i + 1]!]! + w01 * u[src[i + 4]!]! + w10 * u[src[j + 1]!]! + w11 * u[src[j + 4]!]!;
    out[o + 2] =
      w00 * u[src[i + 2]!]! + w01 * u[src[i + 5]!]! + w10 * u[src[j + 2]!]! + w11 * u[src[j + 5]!]!;
  }
}
