import { gaussianBlur } from "../image/boxFilter.ts";
import { resizeBilinear, resizeNearest } from "../image/resample.ts";
import type { Plane, RgbImage } from "../image/types.ts";
import { cocDiameterPx, psfSigmaPx, type ThinLens } from "../optics/thinLens.ts";

export interface RenderOptions {
  /** Depth layers; default: enough that neighbouring layers' blur differs by under ~0.75 px. */
  layers?: number;
  /**
   * Point spread function: a Gaussian of the circle of confusion's second moment (default), or
   * the uniform disc itself, area-sampled (a second renderer, for held-out checks).
   */
  psf?: "gaussian" | "disc";
  /**
   * Renders at this many times the size (the scene resampled up, bilinear colour and nearest
   * depth) and averages each block back down: blur under a pixel then spreads as it does on a
   * sensor that integrates over its pixels, instead of snapping to the pixel grid (1: off).
   * Resampling softens the finest texture of every frame alike (stripes 4 px apart keep 75% of
   * their contrast in focus at 4×), as a sensor's own pixel area does.
   */
  supersample?: number;
}

export const MIN_LAYERS = 8;
export const MAX_LAYERS = 32;

/**
 * Renders what a thin lens focused at `focusM` sees of a scene given as a sharp linear-RGB
 * image and a hole-free metric depth map. Layered and occlusion-aware: the scene is cut into
 * depth slices (uniform in diopters, where blur is linear), each slice and its coverage are
 * blurred with that depth's PSF, and slices are composited far to near with the "over"
 * operator, so a near object's blur spreads over what is behind it and not the reverse.
 */
export function renderDefocus(
  sharpLinear: RgbImage,
  depthM: Plane,
  lens: ThinLens,
  focusM: number,
  options: RenderOptions = {},
): RgbImage {
  const f = options.supersample ?? 1;
  if (!Number.isInteger(f) || f < 1)
    throw new RangeError(`supersample must be a whole number ≥ 1, not ${f}`);
  if (f > 1) {
    const { width: w, height: h } = sharpLinear;
    const big = renderAtSize(
      upsampleRgb(sharpLinear, f),
      upsampleNearest(depthM, f),
      lens,
      focusM,
      options,
    );
    return blockMeanRgb(big, f, w, h);
  }
  return renderAtSize(sharpLinear, depthM, lens, focusM, options);
}

function upsampleRgb(img: RgbImage, f: number): RgbImage {
  const { width: w, height: h } = img;
  const W = w * f;
  const H = h * f;
  const out = new Float32Array(3 * W * H);
  const chan = new Float32Array(w * h);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < w * h; i++) chan[i] = img.data[3 * i + c]!;
    const up = resizeBilinear(chan, w, h, W, H);
    for (let i = 0; i < W * H; i++) out[3 * i + c] = up[i]!;
  }
  return { width: W, height: H, data: out };
}

function upsampleNearest(p: Plane, f: number): Plane {
  const W = p.width * f;
  const H = p.height * f;
  return { width: W, height: H, data: resizeNearest(p.data, p.width, p.height, W, H) };
}

/** Each f×f block's mean: the w×h image a sensor of pixels f times as large records. */
function blockMeanRgb(img: RgbImage, f: number, w: number, h: number): RgbImage {
  const out = new Float32Array(3 * w * h);
  const W = img.width;
  const k = 1 / (f * f);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++)
          for (let dx = 0; dx < f; dx++) sum += img.data[3 * ((y * f + dy) * W + x * f + dx) + c]!;
        out[3 * (y * w + x) + c] = sum * k;
      }
  return { width: w, height: h, data: out };
}

/** The layered render itself, at the images' own size. */
function renderAtSize(
  sharpLinear: RgbImage,
  depthM: Plane,
  lens: ThinLens,
  focusM: number,
  options: RenderOptions,
): RgbImage {
  const { width: w, height: h } = sharpLinear;
  const n = w * h;
  const slices = sliceByDiopter(
    depthM,
    options.layers ?? defaultLayerCount(depthM, lens, [focusM], w),
  );
  const accC = new Float32Array(3 * n);
  const accA = new Float32Array(n);
  const chan = new Float32Array(n);
  const blurred = new Float32Array(n);
  const alpha = new Float32Array(n);
  for (const s of slices) {
    const coc = cocDiameterPx(s.depthM, focusM, lens, w);
    const sigma = psfSigmaPx(coc);
    const disc = options.psf === "disc" ? discKernel(coc / 2) : undefined;
    const blur = (src: Float32Array, out: Float32Array) =>
      disc ? convolve2d(src, w, h, disc, out) : gaussianBlur(src, w, h, sigma, out);
    const mask = new Float32Array(n);
    for (const i of s.pixels) mask[i] = 1;
    blur(mask, alpha);
    for (let c = 0; c < 3; c++) {
      chan.fill(0);
      for (const i of s.pixels) chan[i] = sharpLinear.data[3 * i + c]!;
      blur(chan, blurred);
      for (let i = 0; i < n; i++)
        accC[3 * i + c] = blurred[i]! + (1 - alpha[i]!) * accC[3 * i + c]!;
    }
    for (let i = 0; i < n; i++) accA[i] = alpha[i]! + (1 - alpha[i]!) * accA[i]!;
  }
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const a = accA[i]! > 1e-6 ? accA[i]! : 1;
    for (let c = 0; c < 3; c++) out[3 * i + c] = accC[3 * i + c]! / a;
  }
  return { width: w, height: h, data: out };
}

/**
 * A uniform disc of `radius` px, area-sampled (each tap the share of its pixel square inside
 * the disc, 8×8 subsamples), normalised: `size` × `size` weights, row-major.
 */
export function discKernel(radius: number): { size: number; weights: Float32Array } {
  const r = Math.max(radius, 0.5); // under a pixel the disc is the pixel itself
  const half = Math.ceil(r - 0.5);
  const size = 2 * half + 1;
  const weights = new Float32Array(size * size);
  const SUB = 8;
  let sum = 0;
  for (let y = -half; y <= half; y++)
    for (let x = -half; x <= half; x++) {
      let inside = 0;
      for (let sy = 0; sy < SUB; sy++)
        for (let sx = 0; sx < SUB; sx++) {
          const px = x - 0.5 + (sx + 0.5) / SUB;
          const py = y - 0.5 + (sy + 0.5) / SUB;
          if (px * px + py * py <= r * r) inside++;
        }
      weights[(y + half) * size + x + half] = inside;
      sum += inside;
    }
  for (let i = 0; i < weights.length; i++) weights[i]! /= sum;
  return { size, weights };
}

/** 2-D convolution with clamped borders (small kernels only: O(pixels × taps)). */
function convolve2d(
  src: Float32Array,
  w: number,
  h: number,
  k: { size: number; weights: Float32Array },
  out: Float32Array,
): Float32Array {
  const half = (k.size - 1) >> 1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -half; dy <= half; dy++) {
        const yy = Math.min(h - 1, Math.max(0, y + dy)) * w;
        const row = (dy + half) * k.size + half;
        for (let dx = -half; dx <= half; dx++)
          s += k.weights[row + dx]! * src[yy + Math.min(w - 1, Math.max(0, x + dx))]!;
      }
      out[y * w + x] = s;
    }
  return out;
}

interface Slice {
  depthM: number;
  pixels: Int32Array;
}

/** Cuts the depth map into `layers` slices uniform in diopters, far (low diopters) first. */
function sliceByDiopter(depthM: Plane, layers: number): Slice[] {
  const { lo, hi } = diopterRange(depthM);
  const span = hi - lo || 1e-6;
  const counts = new Int32Array(layers);
  const idx = new Int32Array(depthM.data.length);
  for (let i = 0; i < depthM.data.length; i++) {
    const k = Math.min(
      layers - 1,
      Math.max(0, Math.floor(((1 / depthM.data[i]! - lo) / span) * layers)),
    );
    idx[i] = k;
    counts[k]!++;
  }
  const slices: Slice[] = [];
  for (let k = 0; k < layers; k++) {
    if (counts[k] === 0) continue;
    const pixels = new Int32Array(counts[k]!);
    let j = 0;
    let sumD = 0;
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] === k) {
        pixels[j++] = i;
        sumD += 1 / depthM.data[i]!;
      }
    }
    slices.push({ depthM: 1 / (sumD / counts[k]!), pixels });
  }
  return slices;
}

function diopterRange(depthM: Plane): { lo: number; hi: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const d of depthM.data) {
    if (!(d > 0) || !Number.isFinite(d))
      throw new RangeError("render needs a hole-free positive depth map");
    const D = 1 / d;
    if (D < lo) lo = D;
    if (D > hi) hi = D;
  }
  return { lo, hi };
}

/** Enough layers that neighbouring slices' blur differs by under ~0.75 px at any focus given. */
export function defaultLayerCount(
  depthM: Plane,
  lens: ThinLens,
  focusM: readonly number[],
  widthPx: number,
): number {
  const { lo, hi } = diopterRange(depthM);
  let span = 0;
  for (const f of focusM) {
    span = Math.max(
      span,
      Math.abs(
        cocDiameterPx(1 / hi, f, lens, widthPx) -
          cocDiameterPx(1 / Math.max(lo, 1e-6), f, lens, widthPx),
      ),
    );
  }
  return Math.min(MAX_LAYERS, Math.max(MIN_LAYERS, Math.ceil(span / 0.75)));
}

/**
 * Fills holes (≤ 0) of a depth map from valid neighbours by push–pull (coarse-to-fine
 * averaging), so a renderer can use it everywhere; valid pixels are kept.
 */
export function fillDepthHoles(depth: Plane): Plane {
  const { width: w, height: h, data } = depth;
  let any = false;
  for (const d of data)
    if (d > 0) {
      any = true;
      break;
    }
  if (!any) throw new RangeError("depth map has no valid pixel");
  const out = Float32Array.from(data);
  if (out.every((d) => d > 0)) return { width: w, height: h, data: out };
  const coarse = pushPull(out, w, h);
  return { width: w, height: h, data: coarse };
}

function pushPull(d: Float32Array, w: number, h: number): Float32Array {
  const hasHole = d.some((v) => !(v > 0));
  if (!hasHole || (w <= 1 && h <= 1)) return d;
  const w2 = Math.max(1, (w + 1) >> 1);
  const h2 = Math.max(1, (h + 1) >> 1);
  const small = new Float32Array(w2 * h2);
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      let s = 0;
      let c = 0;
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++) {
          const xx = 2 * x + dx;
          const yy = 2 * y + dy;
          if (xx < w && yy < h && d[yy * w + xx]! > 0) {
            s += d[yy * w + xx]!;
            c++;
          }
        }
      small[y * w2 + x] = c ? s / c : 0;
    }
  }
  const filled = pushPull(small, w2, h2);
  const out = Float32Array.from(d);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!(out[i]! > 0)) out[i] = filled[(y >> 1) * w2 + (x >> 1)]!;
    }
  return out;
}

/** Focus distances (m) spread evenly in diopters across the scene's 2nd–98th depth percentile. */
export function focusSweep(depthM: Plane, frames: number): number[] {
  const sample: number[] = [];
  const step = Math.max(1, Math.floor(depthM.data.length / 50000));
  for (let i = 0; i < depthM.data.length; i += step)
    if (depthM.data[i]! > 0) sample.push(1 / depthM.data[i]!);
  sample.sort((a, b) => a - b);
  const far = sample[Math.floor(0.02 * (sample.length - 1))]!;
  const near = sample[Math.floor(0.98 * (sample.length - 1))]!;
  if (frames < 2) throw new RangeError("a focal stack needs at least 2 frames");
  return Array.from({ length: frames }, (_, k) => 1 / (near + ((far - near) * k) / (frames - 1)));
}
