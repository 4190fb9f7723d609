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
  const xMax = width - 1;
  const yMax = height - 1;
  // Bilinear taps need x0 + 1 and y0 + 1 to exist; a 1-pixel image has only x0.
  const x0Max = Math.max(0, width - 2);
  const y0Max = Math.max(0, height - 2);
  const dx1 = width > 1 ? 1 : 0;
  const dy1 = height > 1 ? width : 0;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    // The map is affine: along a row both source coordinates advance by constants.
    let sx = cx - m * cx - t.b * dy + t.tx;
    let sy = cy + t.b * -cx + m * dy + t.ty;
    let o = y * width * channels;
    for (let x = 0; x < width; x++, sx += m, sy += t.b, o += channels) {
      const inside = sx >= 0 && sy >= 0 && sx <= xMax && sy <= yMax;
      if (valid) valid[y * width + x] = inside ? 1 : 0;
      const px = sx < 0 ? 0 : Math.min(sx, xMax);
      const py = sy < 0 ? 0 : Math.min(sy, yMax);
      const x0 = Math.min(Math.floor(px), x0Max);
      const y0 = Math.min(Math.floor(py), y0Max);
      const fx = px - x0;
      const fy = py - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const i00 = (y0 * width + x0) * channels;
      const i01 = i00 + dx1 * channels;
      const i10 = i00 + dy1 * channels;
      const i11 = i10 + dx1 * channels;
      if (channels === 1) {
        out[o] = w00 * src[i00]! + w01 * src[i01]! + w10 * src[i10]! + w11 * src[i11]!;
      } else {
        for (let c = 0; c < channels; c++) {
          out[o + c] =
            w00 * src[i00 + c]! + w01 * src[i01 + c]! + w10 * src[i10 + c]! + w11 * src[i11 + c]!;
        }
      }
    }
  }
  return out;
}
