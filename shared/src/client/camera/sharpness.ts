/**
 * On-device sharpness, cheap enough for a phone per preview frame: the mean squared 4-neighbour
 * Laplacian of the luma, per tile of a grid. Its peak over a focus sweep marks where each part
 * of the scene is in focus.
 */

/** Rec. 601 luma (0–255) of RGBA pixels (`ImageData.data`). */
export function lumaFromRgba(rgba: Uint8ClampedArray, width: number, height: number): Float32Array {
  const n = width * height;
  if (rgba.length !== 4 * n)
    throw new RangeError(`RGBA of ${rgba.length} bytes is not ${width}×${height}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return out;
}

/** Mean squared Laplacian per tile, row-major `tilesX × tilesY` (border pixels skipped). */
export function tileSharpness(
  luma: Float32Array,
  width: number,
  height: number,
  tilesX: number,
  tilesY: number,
): Float32Array {
  const sum = new Float64Array(tilesX * tilesY);
  const count = new Uint32Array(tilesX * tilesY);
  for (let y = 1; y < height - 1; y++) {
    const ty = Math.min(tilesY - 1, Math.floor((y * tilesY) / height));
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const lap = 4 * luma[i]! - luma[i - 1]! - luma[i + 1]! - luma[i - width]! - luma[i + width]!;
      const t = ty * tilesX + Math.min(tilesX - 1, Math.floor((x * tilesX) / width));
      sum[t]! += lap * lap;
      count[t]!++;
    }
  }
  return Float32Array.from(sum, (s, t) => (count[t] ? s / count[t]! : 0));
}

/** Whole-frame sharpness (one tile): what the lens-settle wait watches. */
export const frameSharpness = (luma: Float32Array, width: number, height: number): number =>
  tileSharpness(luma, width, height, 1, 1)[0]!;
