import type { Plane } from "../image/types.ts";
import { quantile } from "../math/stats.ts";
import { type BandSteps, bandStep, plainAlloc, runStepsInline } from "../pipeline/bandSteps.ts";

/** Width of the border band whose prior values are checked, as a fraction of the short side. */
export const BORDER_BAND_FRACTION = 1 / 40;

/** Share of pixels at either end of the prior's range beyond which a value can be a hot spot. */
const HOT_QUANTILE = 0.001;
/** How far past that range (in units of its width) a value may go before it is clamped. */
const HOT_MARGIN = 0.25;

/**
 * The prior's own artefacts, suppressed before it is aligned: a network's padding leaves a band
 * along the image border (pydnet-pp: a far band along the top edge, a near line on row 0), and
 * isolated hot spots of huge inverse depth. Neither has focus evidence to correct it (registration
 * leaves the border without confidence), so both would pass through the refinement unchanged.
 * Returns a new relative inverse depth; the input is not changed.
 */
export function suppressPriorArtefacts(prior: Plane): Float32Array {
  return runStepsInline(suppressPriorArtefactsSteps(prior, plainAlloc));
}

/**
 * `suppressPriorArtefacts` as row-band steps into a plane from `alloc`: the hot spots clamped in
 * bands, then the border bands (a few rows and columns) here.
 */
export function* suppressPriorArtefactsSteps(
  prior: Plane,
  alloc: (length: number) => Float32Array,
): BandSteps<Float32Array> {
  const { width: w, height: h, data } = prior;
  const out = alloc(data.length);
  yield bandStep(clampRangeRows, { w, src: data, dst: out, ...hotSpotBounds(data) }, h);
  clampBorderBands({ width: w, height: h, data: out });
  return out;
}

/**
 * Values far outside the bulk of the prior's range are clamped to its edge plus a margin: a real
 * near object keeps being the nearest thing, just not 400 times nearer than the 99.9th percentile.
 */
export function clampHotSpots(v: Float32Array): void {
  clampRangeRows({ w: v.length, src: v, dst: v, ...hotSpotBounds(v) }, 0, 1);
}

/** The range `clampHotSpots` keeps (unbounded when the prior has no finite bulk). */
export function hotSpotBounds(v: Float32Array): { min: number; max: number } {
  const step = Math.max(1, Math.floor(v.length / 100_000));
  const sample = new Float32Array(Math.ceil(v.length / step));
  for (let i = 0, k = 0; i < v.length; i += step, k++) sample[k] = v[i]!;
  const lo = quantile(sample, HOT_QUANTILE);
  const hi = quantile(sample, 1 - HOT_QUANTILE);
  if (!(Number.isFinite(lo) && Number.isFinite(hi)))
    return { min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY };
  const margin = HOT_MARGIN * (hi - lo);
  return { min: lo - margin, max: hi + margin };
}

export interface ClampRangeArgs {
  w: number;
  src: Float32Array;
  dst: Float32Array;
  min: number;
  max: number;
}

/** Rows [y0, y1) of `src` clamped to [min, max] into `dst` (NaN stays NaN; `dst` may be `src`). */
export function clampRangeRows(a: ClampRangeArgs, y0: number, y1: number): void {
  const { src, dst, min, max } = a;
  for (let i = y0 * a.w, end = y1 * a.w; i < end; i++) {
    const x = src[i]!;
    // biome-ignore lint/complexity/useMathMinMax: Math.max turns −0 into 0 (a different bit)
    dst[i] = x > max ? max : x < min ? min : x;
  }
}

/**
 * Each side's outer band (BORDER_BAND_FRACTION of the short side) is limited to the range the
 * prior takes just inside it (the next band in, over the same stretch of border widened by the
 * band's width each way). Structure that runs out of the image keeps its values; a band that dips
 * or peaks at the edge only, as padding artefacts do, is cut back to its neighbours' range.
 */
export function clampBorderBands(prior: Plane): void {
  const { width: w, height: h, data } = prior;
  const m = Math.round(Math.min(w, h) * BORDER_BAND_FRACTION);
  if (m < 1 || 2 * m > Math.min(w, h)) return;
  // A side as (position along the border, depth from the edge) → pixel index.
  const sides: [number, (along: number, depth: number) => number][] = [
    [w, (x, d) => d * w + x],
    [w, (x, d) => (h - 1 - d) * w + x],
    [h, (y, d) => y * w + d],
    [h, (y, d) => y * w + (w - 1 - d)],
  ];
  for (const [length, at] of sides) {
    const colMin = new Float32Array(length);
    const colMax = new Float32Array(length);
    for (let a = 0; a < length; a++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let d = m; d < 2 * m; d++) {
        const v = data[at(a, d)]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      colMin[a] = lo;
      colMax[a] = hi;
    }
    for (let a = 0; a < length; a++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let b = Math.max(0, a - m), end = Math.min(length - 1, a + m); b <= end; b++) {
        if (colMin[b]! < lo) lo = colMin[b]!;
        if (colMax[b]! > hi) hi = colMax[b]!;
      }
      for (let d = 0; d < m; d++) {
        const i = at(a, d);
        const v = data[i]!;
        if (v < lo) data[i] = lo;
        else if (v > hi) data[i] = hi;
      }
    }
  }
}
