/**
 * The depth span a colour ramp covers: the 2nd–98th percentile of the valid depth, so a handful
 * of outliers (e.g. pixels clamped to the depth range's far end) cannot squeeze the scene into
 * one colour. Sampled (at most ~50k values) so a 3 MP map stays cheap on a phone.
 */
export const SPAN_NEAR_Q = 0.02;
export const SPAN_FAR_Q = 0.98;
const MAX_SAMPLES = 50_000;

export const isValidDepth = (d: number) => d > 0 && Number.isFinite(d);

/** [near, far] in metres, widened when the scene is flat; undefined when no depth is valid. */
export function depthSpan(depth: Float32Array): [number, number] | undefined {
  const step = Math.max(1, Math.floor(depth.length / MAX_SAMPLES));
  const sample: number[] = [];
  for (let i = 0; i < depth.length; i += step) if (isValidDepth(depth[i]!)) sample.push(depth[i]!);
  if (!sample.length) return undefined;
  const v = Float64Array.from(sample).sort();
  const q = (p: number) => v[Math.round(p * (v.length - 1))]!;
  const near = q(SPAN_NEAR_Q);
  const far = q(SPAN_FAR_Q);
  return far > near * 1.01 ? [near, far] : [near * 0.9, near * 1.1];
}

/** Position of `d` on the ramp: 1 at `near` (warm), 0 at `far`, spaced in inverse depth. */
export function spanPosition(d: number, [near, far]: [number, number]): number {
  return Math.min(1, Math.max(0, (1 / d - 1 / far) / (1 / near - 1 / far)));
}
