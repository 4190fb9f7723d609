import { HybridDepthError } from "../errors.ts";

/**
 * Every value of an output must be a finite number: a depth of ±Infinity or NaN is never
 * served as done. Throws DEPTH_NOT_FINITE naming the output, how many values and the first pixel.
 */
export function assertFinite(name: string, values: Float32Array): void {
  // Fast pass: v·0 is 0 for every finite v and NaN for ±Infinity and NaN, so one sum tells.
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
  if (probe === 0) return;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]!)) {
      if (first < 0) first = i;
      bad++;
    }
  if (bad)
    throw new HybridDepthError(
      "DEPTH_NOT_FINITE",
      `${name}: ${bad} of ${values.length} values are not finite (first at index ${first}, ${values[first]})`,
    );
}
