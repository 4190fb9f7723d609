/**
 * Mean over a (2r+1)² window by running sums, O(pixels) whatever the radius. Windows are
 * clipped at the border and divided by the pixels they really cover.
 */
export function boxMean(
  src: Float32Array,
  width: number,
  height: number,
  radius: number,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const tmp = new Float32Array(src.length);
  boxPass(src, tmp, width, height, radius, 1, width);
  boxPass(tmp, out, height, width, radius, width, 1);
  return out;
}

/**
 * One 1-D running-sum pass along lines of length `len`; `step` walks along a line and
 * `lineStep` from one line to the next, so the same code serves rows and columns.
 */
function boxPass(
  src: Float32Array,
  dst: Float32Array,
  len: number,
  lines: number,
  r: number,
  step: number,
  lineStep: number,
): void {
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let sum = 0;
    const first = Math.min(r, len - 1);
    for (let i = 0; i <= first; i++) sum += src[base + i * step]!;
    for (let i = 0; i < len; i++) {
      const lo = i - r;
      const hi = i + r;
      dst[base + i * step] = sum / (Math.min(hi, len - 1) - Math.max(lo, 0) + 1);
      const add = hi + 1;
      if (add < len) sum += src[base + add * step]!;
      if (lo >= 0) sum -= src[base + lo * step]!;
    }
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

/** Separable convolution with clamped borders. */
export function separableKernel(
  src: Float32Array,
  width: number,
  height: number,
  kernel: Float32Array,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) {
        const xx = x + k < 0 ? 0 : x + k >= width ? width - 1 : x + k;
        s += kernel[k + r]! * src[row + xx]!;
      }
      tmp[row + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) {
        const yy = y + k < 0 ? 0 : y + k >= height ? height - 1 : y + k;
        s += kernel[k + r]! * tmp[yy * width + x]!;
      }
      out[y * width + x] = s;
    }
  }
  return out;
}
