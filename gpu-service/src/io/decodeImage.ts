import { randomUUID } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp, { type Metadata, type Sharp, type SharpOptions } from "sharp";
import { HybridDepthError } from "#shared/errors.ts";
import { type RgbImage, type RgbSamples, sampleUnit } from "#shared/image/types.ts";
import { JPEG_DCT_SHRINKS } from "#shared/pipeline/workSize.ts";

export interface ImageSize {
  width: number;
  height: number;
}

/** Default cap on a frame's pixels: a 64 MP sensor, well above any phone's main camera. */
export const DEFAULT_MAX_FRAME_PIXELS = 64_000_000;

const FORMATS = new Set(["jpeg", "png"]);

/**
 * Reads a frame's header only: its size after EXIF orientation. Rejects non-JPEG/PNG data and
 * frames over `maxPixels` before any pixel is decoded (decompression bombs stop here).
 */
export async function probeImage(
  bytes: Uint8Array,
  name: string,
  maxPixels = DEFAULT_MAX_FRAME_PIXELS,
): Promise<ImageSize> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new HybridDepthError("FRAME_UNREADABLE", `${name}: not a readable image (${reason(e)})`);
  }
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw new HybridDepthError(
      "FRAME_UNREADABLE",
      `${name}: format ${meta.format ?? "unknown"} is not JPEG or PNG`,
    );
  }
  if (!meta.width || !meta.height)
    throw new HybridDepthError("FRAME_UNREADABLE", `${name}: image has no size`);
  if (meta.width * meta.height > maxPixels) {
    throw new HybridDepthError(
      "FRAME_TOO_LARGE",
      `${name}: ${meta.width}×${meta.height} = ${((meta.width * meta.height) / 1e6).toFixed(1)} MP exceeds the limit of ${(maxPixels / 1e6).toFixed(1)} MP`,
    );
  }
  // EXIF orientations 5–8 turn the image a quarter: width and height swap.
  const swap = (meta.orientation ?? 1) >= 5;
  return swap
    ? { width: meta.height, height: meta.width }
    : { width: meta.width, height: meta.height };
}

/**
 * A decoded frame; with `samples` (asked, and three channels decoded) also the decoder's own 8- or
 * 16-bit samples that `data` was scaled from (v / max), for a graph to upload instead of floats.
 */
export interface DecodedRgb extends RgbImage {
  samples?: Uint8Array | Uint16Array;
}

/**
 * Decodes a JPEG or PNG (8- or 16-bit, gray or colour, with or without alpha) to RGB floats in
 * [0, 1], upright per EXIF, resampled to `size` when given, into a plane from `alloc`;
 * `keepSamples`: also hand back the decoder's samples.
 */
export async function decodeRgb(
  bytes: Uint8Array,
  name: string,
  size?: ImageSize,
  maxPixels = DEFAULT_MAX_FRAME_PIXELS,
  alloc: (length: number) => Float32Array = (length) => new Float32Array(length),
  keepSamples = false,
): Promise<DecodedRgb> {
  return decoded(bytes, name, size, maxPixels, (values, channels, width, height) => {
    // A table of v / max (as float32, the same rounding as the division): a load per sample
    // instead of a division (about 0.7 of the loop's time on 3 × 3 MP values).
    const unit = sampleUnit(values);
    const out = alloc(width * height * 3);
    if (channels === 3) {
      for (let i = 0; i < out.length; i++) out[i] = unit[values[i]!]!;
    } else {
      for (let i = 0, n = width * height; i < n; i++) {
        const v = unit[values[i * channels]!]!;
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
      }
    }
    const image: DecodedRgb = { width, height, data: out };
    if (keepSamples && channels === 3) image.samples = values;
    return image;
  });
}

/** Where `decodeSamples` puts a frame's samples: 8-bit, or 16-bit (`wide`) from a wide PNG. */
export type SampleAlloc = (length: number, wide: boolean) => Uint8Array | Uint16Array;

const plainSamples: SampleAlloc = (length, wide) =>
  wide ? new Uint16Array(length) : new Uint8Array(length);

/**
 * `decodeRgb` without the floats: the decoder's samples, three per pixel (a gray frame's
 * repeated), in a buffer from `alloc`. Their floats (`sampleUnit`) are `decodeRgb`'s, bit for bit.
 */
export async function decodeSamples(
  bytes: Uint8Array,
  name: string,
  size?: ImageSize,
  maxPixels = DEFAULT_MAX_FRAME_PIXELS,
  alloc: SampleAlloc = plainSamples,
): Promise<RgbSamples> {
  return decoded(bytes, name, size, maxPixels, (values, channels, width, height) => {
    const out = alloc(width * height * 3, values instanceof Uint16Array);
    if (channels === 3) out.set(values);
    else
      for (let i = 0, n = width * height; i < n; i++)
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = values[i * channels]!;
    return { width, height, data: out };
  });
}

/**
 * Runs the decode both share (upright, at `size`, alpha dropped, sRGB or 16-bit RGB) and hands
 * `take` the raw samples (a view of the decoder's own buffer) and their layout.
 */
async function decoded<T>(
  bytes: Uint8Array,
  name: string,
  size: ImageSize | undefined,
  maxPixels: number,
  take: (values: Uint8Array | Uint16Array, channels: number, width: number, height: number) => T,
): Promise<T> {
  let done: (() => Promise<void>) | undefined;
  try {
    const meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
    // 16-bit sources keep their precision; 8-bit ones decode exactly (rgb16 would round twice).
    const wide = meta.depth === "ushort";
    const shrink = size ? dctShrink(meta, size) : 1;
    const opened = await openShrunk(bytes, shrink, {
      limitInputPixels: maxPixels,
      failOn: "error",
    });
    done = opened.done;
    let img = opened.img.rotate();
    if (size && shrink === 1)
      img = img.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" });
    img = img.removeAlpha().toColourspace(wide ? "rgb16" : "srgb");
    const { data, info } = await (wide ? img.raw({ depth: "ushort" }) : img.raw()).toBuffer({
      resolveWithObject: true,
    });
    const values = wide
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return take(values, info.channels, info.width, info.height);
  } catch (e) {
    if (e instanceof HybridDepthError) throw e;
    throw new HybridDepthError("FRAME_UNREADABLE", `${name}: cannot decode (${reason(e)})`);
  } finally {
    await done?.();
  }
}

/**
 * A sharp pipeline on the frame, decoded by libjpeg straight at 1/`shrink` (2, 4, 8) of its
 * stored size when `shrink` > 1 (a JPEG whose sides it divides), else as it is. Call `done`
 * when the pipeline has run.
 */
export async function openShrunk(
  bytes: Uint8Array,
  shrink: number,
  options: SharpOptions,
): Promise<{ img: Sharp; done: () => Promise<void> }> {
  if (shrink <= 1) return { img: sharp(bytes, options), done: async () => {} };
  const scratch = await scratchFile(bytes);
  return {
    img: sharp(`${scratch}[shrink=${shrink}]`, options),
    done: () => rm(scratch, { force: true }),
  };
}

/**
 * The JPEG DCT reduction (2, 4, 8) that yields exactly `size` from this frame, else 1. libjpeg
 * then decodes straight to the work size: about a third of a full decode, and no resample.
 */
export function dctShrink(meta: Metadata, size: ImageSize): number {
  if (meta.format !== "jpeg" || !meta.width || !meta.height) return 1;
  const swap = (meta.orientation ?? 1) >= 5;
  const [w, h] = swap ? [meta.height, meta.width] : [meta.width, meta.height];
  for (const d of JPEG_DCT_SHRINKS) if (w === d * size.width && h === d * size.height) return d;
  return 1;
}

/** Scratch files of this process start with this (in the temp folder). */
export const SCRATCH_PREFIX = `hybriddepth-decode-${process.pid}-`;

/**
 * Writes the frame to a scratch file: sharp never asks libjpeg for an exact 1/2 (its resize
 * lowers a shrink-on-load that equals the reduction, for libjpeg's rounding of odd sides), but
 * libvips' loader takes `file[shrink=N]` itself. The sides are exact multiples here. The file
 * sits in the temp folder itself, readable by this user only, and goes once decoded (a scratch
 * folder per process, as there was, outlived every process that made one).
 */
async function scratchFile(bytes: Uint8Array): Promise<string> {
  const path = join(tmpdir(), `${SCRATCH_PREFIX}${randomUUID()}.jpg`);
  await writeFile(path, bytes, { mode: 0o600, flag: "wx" });
  return path;
}

/** Reads a single-channel 16-bit PNG (such as gt_depth.png) as raw integers. */
export async function decodeGray16(
  bytes: Uint8Array,
  name: string,
): Promise<{ width: number; height: number; data: Uint16Array }> {
  try {
    const { data, info } = await sharp(bytes)
      .extractChannel(0)
      .toColourspace("grey16")
      .raw({ depth: "ushort" })
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2).slice(),
    };
  } catch (e) {
    throw new HybridDepthError(
      "FRAME_UNREADABLE",
      `${name}: cannot decode 16-bit PNG (${reason(e)})`,
    );
  }
}

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}
