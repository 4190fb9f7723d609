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
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const m = 1 + t.a;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      let sx = cx + m * dx - t.b * dy + t.tx;
      let sy = cy + t.b * dx + m * dy + t.ty;
      const inside = sx >= 0 && sy >= 0 && sx <= width - 1 && sy <= height - 1;
      if (valid) valid[y * width + x] = inside ? 1 : 0;
      sx = sx < 0 ? 0 : Math.min(sx, width - 1);
      sy = sy < 0 ? 0 : Math.min(sy, height - 1);
      const x0 = Math.min(Math.floor(sx), Math.max(width - 2, 0));
      const y0 = Math.min(Math.floor(sy), Math.max(height - 2, 0));
      const fx = sx - x0;
      const fy = sy - y0;
      const x1 = Math.min(x0 + 1, width - 1);
      const y1 = Math.min(y0 + 1, height - 1);
      const i00 = (y0 * width + x0) * channels;
      const i01 = (y0 * width + x1) * channels;
      const i10 = (y1 * width + x0) * channels;
      const i11 = (y1 * width + x1) * channels;
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const top = src[i00 + c]! + (src[i01 + c]! - src[i00 + c]!) * fx;
        const bot = src[i10 + c]! + (src[i11 + c]! - src[i10 + c]!) * fx;
        out[o + c] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}
