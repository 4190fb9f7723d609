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

/**
 * An RGB image as a decoder's own samples, interleaved: 8-bit, or 16-bit from a wide PNG. Its
 * floats are `sampleUnit(data)[v]` (v / max), so whatever reads the samples through that table
 * gets the bits the float image would have given, from a quarter (or half) of its bytes.
 */
export interface RgbSamples {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint16Array;
}

/** v / 255 and v / 65535 as float32: the same rounding as dividing each sample. */
const UNIT8 = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const UNIT16 = Float32Array.from({ length: 65536 }, (_, v) => v / 65535);

/** The table from a sample to its float in [0, 1]. */
export function sampleUnit(data: Uint8Array | Uint16Array): Float32Array {
  return data instanceof Uint16Array ? UNIT16 : UNIT8;
}

export function plane(width: number, height: number, data?: Float32Array): Plane {
  const d = data ?? new Float32Array(width * height);
  if (d.length !== width * height)
    throw new RangeError(`plane data has ${d.length} values, want ${width * height}`);
  return { width, height, data: d };
}

/** Rec. 601 luma of one pixel, as every gray plane here computes it (the same bits). */
export function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** Rec. 601 luma: the gray image focus and registration work on. */
export function toGray(
  rgb: RgbImage,
  out: Float32Array = new Float32Array(rgb.width * rgb.height),
): Plane {
  const n = rgb.width * rgb.height;
  const s = rgb.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = luma(s[j]!, s[j + 1]!, s[j + 2]!);
  return plane(rgb.width, rgb.height, out);
}

/**
 * A [0, 1] float as a byte, rounding half up (NaN → 0). Clamped after the scaling and rounded
 * by adding a half and truncating: the same byte as Math.round of the clamped value, three
 * times faster.
 */
export function unitToByte(v: number): number {
  const t = v * 255;
  return t >= 255 ? 255 : t > 0 ? (t + 0.5) | 0 : 0;
}

/** [0, 1] floats to bytes (`unitToByte`). */
export function floatToBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = unitToByte(data[i]!);
  return out;
}

/** `toGray` of the samples' floats (the same bits), read through their table. */
export function toGraySamples(
  rgb: RgbSamples,
  out: Float32Array = new Float32Array(rgb.width * rgb.height),
): Plane {
  const n = rgb.width * rgb.height;
  const s = rgb.data;
  const u = sampleUnit(s);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = luma(u[s[j]!]!, u[s[j + 1]!]!, u[s[j + 2]!]!);
  return plane(rgb.width, rgb.height, out);
}
