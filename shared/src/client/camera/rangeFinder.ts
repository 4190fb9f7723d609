import { clampFocusDistance, type FocusCapability } from "./focusSweep.ts";

/** One preview frame: where the lens was and how sharp each tile looked. */
export interface SharpnessSample {
  distance: number;
  tiles: Float32Array;
}

export interface OccupiedRangeOptions {
  /** A tile counts only if its sharpest frame beats its blurriest by this factor (default 1.3). */
  minContrast?: number;
  /** Percentiles of the tiles' in-focus diopters kept (default 0.05 and 0.95). */
  lowQuantile?: number;
  highQuantile?: number;
}

/**
 * Where the scene is, from a fast preview sweep: each textured tile is in focus at the
 * distance of its sharpest frame; the occupied range spans those distances (robust
 * percentiles, in diopters), widened by half a preview step each side since a peak is only
 * known to the nearest preview frame, and clamped to the camera. `undefined` when too few
 * tiles carry texture to tell (then sweep the camera's whole range).
 */
export function occupiedRange(
  samples: readonly SharpnessSample[],
  cap: FocusCapability,
  opts: OccupiedRangeOptions = {},
): { near: number; far: number } | undefined {
  if (samples.length < 3) throw new RangeError("a preview sweep needs at least 3 frames");
  const tiles = samples[0]!.tiles.length;
  if (samples.some((s) => s.tiles.length !== tiles))
    throw new RangeError("preview frames have different tile grids");
  const minContrast = opts.minContrast ?? 1.3;
  const diopters = samples.map((s) => 1 / s.distance);
  const peaks: number[] = [];
  for (let t = 0; t < tiles; t++) {
    let best = 0;
    let lo = Infinity;
    for (let k = 0; k < samples.length; k++) {
      const v = samples[k]!.tiles[t]!;
      if (v > samples[best]!.tiles[t]!) best = k;
      lo = Math.min(lo, v);
    }
    if (samples[best]!.tiles[t]! > minContrast * Math.max(lo, 1e-9)) peaks.push(diopters[best]!);
  }
  if (peaks.length < Math.max(3, tiles * 0.1)) return undefined;
  peaks.sort((a, b) => a - b);
  const q = (p: number) => peaks[Math.round(p * (peaks.length - 1))]!;
  const sorted = [...diopters].sort((a, b) => a - b);
  let step = 0;
  for (let k = 1; k < sorted.length; k++) step = Math.max(step, sorted[k]! - sorted[k - 1]!);
  const farD = Math.max(1 / cap.max, q(opts.lowQuantile ?? 0.05) - step / 2);
  const nearD = Math.min(1 / cap.min, q(opts.highQuantile ?? 0.95) + step / 2);
  return { near: clampFocusDistance(1 / nearD, cap), far: clampFocusDistance(1 / farD, cap) };
}
