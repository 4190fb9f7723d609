import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FusionInput } from "#shared/fusion/fuse.ts";
import { type Plane, toGray } from "#shared/image/types.ts";
import { type DecodedRgb, decodeRgb } from "../io/decodeImage.ts";

export const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");

/** Deterministic uniform noise in [0, 1) (mulberry32), so a failure reproduces. */
export function noise(n: number, seed = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/**
 * A real frame (of the bundled sample by default), RGB as decoded (with the decoder's samples),
 * at its own size or the one given.
 */
export async function sampleRgb(
  file = join(SAMPLE, "f02.jpg"),
  size?: { width: number; height: number },
): Promise<DecodedRgb> {
  return decodeRgb(new Uint8Array(await readFile(file)), file, size, undefined, undefined, true);
}

/** `sampleRgb`, gray. */
export async function sampleGray(
  file = join(SAMPLE, "f02.jpg"),
  size?: { width: number; height: number },
): Promise<Plane> {
  return toGray(await sampleRgb(file, size));
}

/** Largest |a − b| relative to max |b| (the tolerance every graph test states). */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    const d = Math.abs(a[i]! - b[i]!);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
  }
  return err / (scale || 1);
}

/**
 * Fusion inputs around a guide (depth follows it, DFF within ±20%, 30% without a focus peak)
 * with the reference's edge cases at the first pixels: DFF at ∞ and at 0, a negative aligned depth.
 */
export function fusionInput(guide: Plane): { input: FusionInput; aligned: Float32Array } {
  const n = guide.width * guide.height;
  const u = noise(4 * n, n);
  const aligned = new Float32Array(n);
  const dffDepth = new Float32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    aligned[i] = 0.5 + 3 * guide.data[i]! + 0.2 * u[i]!;
    dffDepth[i] = aligned[i]! * (0.8 + 0.4 * u[n + i]!);
    confidence[i] = u[2 * n + i]! < 0.3 ? 0 : u[3 * n + i]!;
  }
  dffDepth[0] = Number.POSITIVE_INFINITY;
  dffDepth[1] = 0;
  aligned[2] = -1;
  return {
    input: { dffDepth, confidence, priorInverse: aligned, guide, range: { min: 0.3, max: 6 } },
    aligned,
  };
}
