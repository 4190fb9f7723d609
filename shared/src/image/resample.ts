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
