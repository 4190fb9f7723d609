import { boxMeanGraph } from "./boxMean.ts";
import type { BuiltGraph } from "./builder.ts";
import { focusMeasureGraph } from "./focusMeasure.ts";
import { frameGraph } from "./frameGraph.ts";
import { lensFinishGraph, lensFitGraph } from "./lensFit.ts";
import { refineGraph } from "./refine.ts";
import { warpGraph } from "./warp.ts";

/**
 * One instance of every graph the service generates (small shapes: the op set does not depend
 * on the shape), for the provider-coverage check and the bench.
 */
export function everyGraph(): Record<string, BuiltGraph> {
  return {
    boxMean: boxMeanGraph(40, 30, 3),
    focusMeasure: focusMeasureGraph(40, 30, 3),
    frame: frameGraph(40, 30, 3),
    frameFromSamples: frameGraph(40, 30, 3, "uint8"),
    lensFit: lensFitGraph(5, 24, 40),
    lensFinish: lensFinishGraph(40, 30),
    refine: refineGraph(40, 30, { min: 0.1, max: 10 }),
    warp: warpGraph(40, 30),
  };
}
