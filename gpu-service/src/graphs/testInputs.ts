import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Plane, toGray } from "#shared/image/types.ts";
import { decodeRgb } from "../io/decodeImage.ts";

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

/** A real frame of the bundled sample, gray, at its own size. */
export async function sampleGray(frame = "f02.jpg"): Promise<Plane> {
  const bytes = new Uint8Array(await readFile(join(SAMPLE, frame)));
  return toGray(await decodeRgb(bytes, frame));
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
