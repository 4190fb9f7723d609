import { HybridDepthError } from "../errors.ts";

/**
 * Every value of an output must be a finite number: a depth of ±Infinity or NaN is never
 * served as done. Throws DEPTH_NOT_FINITE naming the output, how many values and the first pixel.
 */
export function assertFinite(name: string, values: Float32Array): void {
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
