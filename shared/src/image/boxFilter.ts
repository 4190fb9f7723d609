/**
 * Mean over a (2r+1)² window by running sums, O(pixels) whatever the radius. Windows are
 * clipped at the border and divided by the pixels they really cover. `out` may be `src`.
 *
 * One sweep down the image: each row's horizontal means go into a ring of 2r + 2 rows, and one
 * running sum per column adds the row entering the window and drops the one leaving it. No
 * full-size intermediate plane is written and read back (nor allocated: fresh large arrays
 * cost page faults), and rows are read ahead of the rows written, so it works in place.
 */
export function boxMean(
  src: Float32Array,
  width: number,
  height: number,
  radius: number,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const w = width;
  const h = height;
  const r = radius;
  const invX = windowReciprocals(w, r);
  const invY = windowReciprocals(h, r);
  const slots = Math.min(2 * r + 2, h);
  const ring = new Float32Array(slots * w);
  const sum = new Float64Array(w);
  for (let y = 0; y <= Math.min(r, h - 1); y++) {
    const o = (y % slots) * w;
    boxRow(src, y * w, ring, o, w, r, invX);
    for (let x = 0; x < w; x++) sum[x]! += ring[o + x]!;
  }
  for (let y = 0; y < h; y++) {
    const base = y * w;
    const f = invY[y]!;
    const next = y + r + 1;
    const o = (next % slots) * w;
    const gone = ((y - r) % slots) * w;
    if (next < h) boxRow(src, next * w, ring, o, w, r, invX);
    if (next < h && y - r >= 0) {
      for (let x = 0; x < w; x++) {
        const v = sum[x]!;
        out[base + x] = v * f;
        sum[x] = v + (ring[o + x]! - ring[gone + x]!);
      }
      continue;
    }
    for (let x = 0; x < w; x++) out[base + x] = sum[x]! * f;
    if (next < h) for (let x = 0; x < w; x++) sum[x]! += ring[o + x]!;
    if (y - r >= 0) for (let x = 0; x < w; x++) sum[x]! -= ring[gone + x]!;
  }
  return out;
}

/** 1 / (pixels a clipped window of radius r covers) at each position along a line of `len`. */
function windowReciprocals(len: number, r: number): Float64Array {
  const inv = new Float64Array(len);
  for (let i = 0; i < len; i++) inv[i] = 1 / (Math.min(i + r, len - 1) - Math.max(i - r, 0) + 1);
  return inv;
}

/** Running-sum window means of the row src[s, s + w) into dst[d, d + w). */
function boxRow(
  src: Float32Array,
  s: number,
  dst: Float32Array,
  d: number,
  w: number,
  r: number,
  inv: Float64Array,
): void {
  let sum = 0;
  for (let x = 0; x <= Math.min(r, w - 1); x++) sum += src[s + x]!;
  // Where the window is clipped on neither side the loop needs no tests.
  const start = Math.min(r, w);
  const end = Math.max(start, w - r - 1);
  let x = 0;
  for (; x < start; x++) {
    dst[d + x] = sum * inv[x]!;
    if (x + r + 1 < w) sum += src[s + x + r + 1]!;
  }
  const full = 1 / (2 * r + 1);
  for (; x < end; x++) {
    dst[d + x] = sum * full;
    sum += src[s + x + r + 1]! - src[s + x - r]!;
  }
  for (; x < w; x++) {
    dst[d + x] = sum * inv[x]!;
    if (x + r + 1 < w) sum += src[s + x + r + 1]!;
    if (x - r >= 0) sum -= src[s + x - r]!;
  }
}

/**
 * Gaussian blur of standard deviation `sigma`: an exact sampled kernel for small sigma, three
 * running-sum box passes (Kovesi's widths) above that, so the cost stays O(pixels).
 */
export function gaussianBlur(
  src: Float32Array,
  width: number,
  height: number,
  sigma: number,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  if (sigma < 0.2) {
    out.set(src);
    return out;
  }
  if (sigma <= SMALL_SIGMA) return separableKernel(src, width, height, gaussianKernel(sigma), out);
  const radii = boxRadiiForGauss(sigma, 3);
  let a = src;
  const tmp = new Float32Array(src.length);
  for (let k = 0; k < radii.length; k++) {
    const dst = k === radii.length - 1 ? out : k % 2 === 0 ? tmp : out;
    boxMean(a, width, height, radii[k]!, dst);
    a = dst;
  }
  return out;
}

/**
 * Blur by a Gaussian of `sigma` as a lens blurs an image a sensor has already sampled: the
 * discrete Gaussian (Lindeberg's e^(−σ²)·Iₙ(σ²), whose variance is σ² at any sigma) up to
 * `SMALL_SIGMA`, box passes beyond. Unlike `gaussianBlur` it softens under a pixel too: a lens
 * with σ = 0.3 px takes about a tenth off the contrast of texture 4 px across, where sampled
 * Gaussian taps (and an image rendered with them) take under 1% off it.
 */
export const discreteGaussianBlur: typeof gaussianBlur = (src, width, height, sigma, out) =>
  // Beyond SMALL_SIGMA the two agree (box passes); at no blur `gaussianBlur` copies.
  sigma > 0 && sigma <= SMALL_SIGMA
    ? separableKernel(src, width, height, discreteGaussianKernel(sigma), out)
    : gaussianBlur(src, width, height, sigma, out);

/** The discrete Gaussian's taps for `sigma` ≤ `SMALL_SIGMA`, normalised (radius ⌈4σ⌉ + 1). */
export function discreteGaussianKernel(sigma: number): Float32Array {
  const t = sigma * sigma;
  const r = Math.ceil(4 * sigma) + 1;
  const k = new Float32Array(2 * r + 1);
  const q = (t / 2) ** 2;
  let sum = 0;
  for (let n = 0; n <= r; n++) {
    // Iₙ(t) = Σₘ (t/2)^(2m+n) / (m! (m+n)!): 40 terms converge for t ≤ SMALL_SIGMA² = 9.
    let term = (t / 2) ** n;
    for (let j = 2; j <= n; j++) term /= j;
    let bessel = 0;
    for (let m = 0; m < 40; m++) {
      bessel += term;
      term *= q / ((m + 1) * (m + 1 + n));
    }
    const v = Math.exp(-t) * bessel;
    k[r + n] = v;
    k[r - n] = v;
    sum += n === 0 ? v : 2 * v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Below this sigma a sampled kernel is cheap and more accurate than box passes. */
export const SMALL_SIGMA = 3;

function gaussianKernel(sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Box radii whose n-fold convolution has the variance of a Gaussian of `sigma` (Kovesi 2010). */
export function boxRadiiForGauss(sigma: number, n: number): number[] {
  const wIdeal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(wIdeal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  return Array.from({ length: n }, (_, i) => ((i < m ? wl : wu) - 1) / 2);
}

/**
 * Separable convolution with clamped borders. `out` may be `src`. Each line is built over the
 * whole line a few taps at a time (see `convolveLine`), which runs several times faster than a
 * short loop over the taps at every pixel and sums in the same order.
 */
export function separableKernel(
  src: Float32Array,
  width: number,
  height: number,
  kernel: Float32Array,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const r = (kernel.length - 1) >> 1;
  const taps = kernel.length;
  const tmp = new Float32Array(src.length);
  const acc = new Float64Array(width);
  const offsets = new Int32Array(taps);
  // Along rows: clamping only within r of either end, shifted copies of the row in between.
  const lo = Math.min(r, width);
  const hi = Math.max(lo, width - r);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let k = 0; k < taps; k++) offsets[k] = row + k - r;
    convolveLine(tmp, row, src, offsets, kernel, lo, hi, acc);
    for (let x = 0; x < width; x++) {
      if (x === lo && hi > lo) x = hi;
      if (x >= width) break;
      let s = 0;
      for (let k = -r; k <= r; k++) {
        const xx = x + k < 0 ? 0 : x + k >= width ? width - 1 : x + k;
        s += kernel[k + r]! * src[row + xx]!;
      }
      tmp[row + x] = s;
    }
  }
  // Down columns, a row at a time, from the clamped source rows.
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < taps; k++)
      offsets[k] = Math.min(height - 1, Math.max(0, y + k - r)) * width;
    convolveLine(out, y * width, tmp, offsets, kernel, 0, width, acc);
  }
  return out;
}

/**
 * dst[d + x] = Σₖ kernel[k]·src[offsets[k] + x] for x in [x0, x1), summed in tap order.
 * Seven taps (σ = 1, registration's smoothing) in one sweep; other kernels through `acc`.
 */
function convolveLine(
  dst: Float32Array,
  d: number,
  src: Float32Array,
  offsets: Int32Array,
  kernel: Float32Array,
  x0: number,
  x1: number,
  acc: Float64Array,
): void {
  if (kernel.length === 7) {
    // Taps and offsets in locals: read from the arrays, they are reloaded at every pixel.
    // (Indexed, not destructured: destructuring a typed array allocates an iterator per line.)
    const c0 = kernel[0]!,
      c1 = kernel[1]!,
      c2 = kernel[2]!,
      c3 = kernel[3]!;
    const c4 = kernel[4]!,
      c5 = kernel[5]!,
      c6 = kernel[6]!;
    const o0 = offsets[0]!,
      o1 = offsets[1]!,
      o2 = offsets[2]!,
      o3 = offsets[3]!;
    const o4 = offsets[4]!,
      o5 = offsets[5]!,
      o6 = offsets[6]!;
    for (let x = x0; x < x1; x++)
      dst[d + x] =
        c0 * src[o0 + x]! +
        c1 * src[o1 + x]! +
        c2 * src[o2 + x]! +
        c3 * src[o3 + x]! +
        c4 * src[o4 + x]! +
        c5 * src[o5 + x]! +
        c6 * src[o6 + x]!;
    return;
  }
  acc.fill(0, x0, x1);
  addTaps(acc, src, offsets, kernel, x0, x1);
  for (let x = x0; x < x1; x++) dst[d + x] = acc[x]!;
}

/**
 * acc[x] += Σₖ kernel[k]·src[offsets[k] + x] for x in [x0, x1), up to four taps per sweep,
 * added one by one in tap order (left to right) so the sums equal a per-pixel loop's exactly.
 */
function addTaps(
  acc: Float64Array,
  src: Float32Array,
  offsets: Int32Array,
  kernel: Float32Array,
  x0: number,
  x1: number,
): void {
  for (let k = 0; k < kernel.length; k += 4) {
    const c0 = kernel[k]!;
    const o0 = offsets[k]!;
    const left = kernel.length - k;
    if (left === 1) {
      for (let x = x0; x < x1; x++) acc[x]! += c0 * src[o0 + x]!;
      continue;
    }
    const c1 = kernel[k + 1]!;
    const o1 = offsets[k + 1]!;
    if (left === 2) {
      for (let x = x0; x < x1; x++) acc[x] = acc[x]! + c0 * src[o0 + x]! + c1 * src[o1 + x]!;
      continue;
    }
    const c2 = kernel[k + 2]!;
    const o2 = offsets[k + 2]!;
    if (left === 3) {
      for (let x = x0; x < x1; x++)
        acc[x] = acc[x]! + c0 * src[o0 + x]! + c1 * src[o1 + x]! + c2 * src[o2 + x]!;
      continue;
    }
    const c3 = kernel[k + 3]!;
    const o3 = offsets[k + 3]!;
    for (let x = x0; x < x1; x++)
      acc[x] =
        acc[x]! + c0 * src[o0 + x]! + c1 * src[o1 + x]! + c2 * src[o2 + x]! + c3 * src[o3 + x]!;
  }
}
