/** A single-channel float image, row-major. */
export interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** An RGB float image, interleaved (r, g, b per pixel), linear in the source's encoding, [0, 1]. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** An RGB image of 8-bit samples, interleaved: a decoded frame as it came, or one to encode. */
export interface Rgb8Image {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Either kind: what a consumer of both (the prior, the encoders) takes. */
export type AnyRgbImage = RgbImage | Rgb8Image;

export function plane(width: number, height: number, data?: Float32Array): Plane {
  const d = data ?? new Float32Array(width * height);
  if (d.length !== width * height)
    throw new RangeError(`plane data has ${d.length} values, want ${width * height}`);
  return { width, height, data: d };
}

/** Rec. 601 luma: the gray image focus and registration work on. */
export function toGray(
  rgb: RgbImage,
  out: Float32Array = new Float32Array(rgb.width * rgb.height),
): Plane {
  const n = rgb.width * rgb.height;
  const s = rgb.data;
  for (let i = 0, j = 0; i < n; i++, j += 3)
    out[i] = 0.299 * s[j]! + 0.587 * s[j + 1]! + 0.114 * s[j + 2]!;
  return plane(rgb.width, rgb.height, out);
}
