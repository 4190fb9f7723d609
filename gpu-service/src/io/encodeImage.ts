import { encode } from "fast-png";
import sharp from "sharp";
import {
  type AnyRgbImage,
  floatToBytes,
  type Rgb8Image,
  type RgbImage,
  sampleUnit,
  unitToByte,
} from "#shared/image/types.ts";
import type { ImageSize } from "./decodeImage.ts";

/** 16-bit single-channel PNG (fast-png: sharp's 16-bit raw input path is not reliable). */
export function encodePng16(data: Uint16Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data, depth: 16, channels: 1 });
}

/** Metres → uint16 millimetres, 0 where invalid, saturating at 65.535 m. */
export function metresToMillimetres(depthM: Float32Array): Uint16Array {
  const out = new Uint16Array(depthM.length);
  for (let i = 0; i < depthM.length; i++) {
    const d = depthM[i]!;
    out[i] = d > 0 && Number.isFinite(d) ? Math.min(65535, Math.round(d * 1000)) : 0;
  }
  return out;
}

/**
 * A decoder's samples as 8-bit ones: the samples themselves when they are (no copy), else the
 * bytes of their floats (`unitToByte`, as `toRgb8` would give).
 */
export function samplesToRgb8(data: Uint8Array | Uint16Array, size: ImageSize): Rgb8Image {
  if (data instanceof Uint8Array) return { ...size, data };
  const unit = sampleUnit(data);
  return { ...size, data: Uint8Array.from(data, (v) => unitToByte(unit[v]!)) };
}

/** An RGB float image as 8-bit samples (floatToBytes): a quarter of its bytes, for keeping. */
export function toRgb8(img: RgbImage): Rgb8Image {
  return { width: img.width, height: img.height, data: floatToBytes(img.data) };
}

export async function encodeGray8Png(
  data: Float32Array,
  width: number,
  height: number,
): Promise<Buffer> {
  return sharp(floatToBytes(data), { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

export async function encodeRgb(
  img: AnyRgbImage,
  format: "png" | "jpeg",
  quality = 92,
): Promise<Buffer> {
  const bytes = img.data instanceof Uint8Array ? img.data : floatToBytes(img.data);
  const s = sharp(bytes, {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  return format === "png"
    ? s.png().toBuffer()
    : s.jpeg({ quality, chromaSubsampling: "4:4:4" }).toBuffer();
}
