/** Nearest-neighbour resampling: for label-like data (ground-truth depth) that must not be blended. */
export function resizeNearest<T extends Float32Array | Uint16Array>(
  src: T,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): T {
  const out = new (src.constructor as new (n: number) => T)(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outHeight));
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / outWidth));
      out[y * outWidth + x] = src[sy * width + sx]!;
    }
  }
  return out;
}

/** Bilinear resampling of a single-channel plane (pixel centres aligned, borders clamped). */
export function resizeBilinear(
  src: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  out: Float32Array = new Float32Array(outWidth * outHeight),
): Float32Array {
  resizeBilinearRows({ src, width, height, outWidth, outHeight, out }, 0, outHeight);
  return out;
}

export interface ResizeArgs {
  src: Float32Array;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  out: Float32Array;
}

/** Output rows [y0, y1) of `resizeBilinear`. */
export function resizeBilinearRows(a: ResizeArgs, y0: number, y1: number): void {
  const { src, width, height, outWidth, out } = a;
  const sx = width / outWidth;
  const sy = height / a.outHeight;
  for (let y = y0; y < y1; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const r0 = Math.floor(fy);
    const r1 = Math.min(height - 1, r0 + 1);
    const ty = fy - r0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const tx = fx - x0;
      const top = src[r0 * width + x0]! * (1 - tx) + src[r0 * width + x1]! * tx;
      const bot = src[r1 * width + x0]! * (1 - tx) + src[r1 * width + x1]! * tx;
      out[y * outWidth + x] = top * (1 - ty) + bot * ty;
    }
  }
}
