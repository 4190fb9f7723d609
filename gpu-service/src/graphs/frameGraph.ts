import type { Similarity } from "#shared/image/warp.ts";
import { type BuiltGraph, GraphBuilder } from "./builder.ts";
import { focusMeasureNodes, grayNodes } from "./focusMeasure.ts";
import {
  rgbPlanesNodes,
  runWarpOutputs,
  type WarpedOnGraph,
  warpCoefficients,
  warpOutputNodes,
} from "./warp.ts";

/**
 * A registered frame's whole per-pixel work in one graph, so that it crosses to the device once
 * and back once: its RGB as decoded and its similarity to the reference in; gray (`toGray`), the
 * focus measure on the frame as captured (`focusMeasure`), and the warp of focus and RGB to the
 * reference with the inside mask (`warpSimilarity`) out. The pieces are the focus-measure and
 * warp graphs' own nodes. Needs both sides ≥ 2 px, as the focus-measure graph does.
 */
export function frameGraph(width: number, height: number, radius: number): BuiltGraph {
  const g = new GraphBuilder("frame");
  const rgb = rgbPlanesNodes(g, g.input("rgb", [1, height, width, 3]));
  const focus = focusMeasureNodes(g, grayNodes(g, rgb), width, height, radius);
  warpOutputNodes(g, focus, rgb, g.input("coef", [6]), width, height);
  return g.build();
}

/** `frameGraph` on one frame: RGB [h·w·3] in, its focus, colour and coverage registered out. */
export function frameOnGraph(
  rgb: Float32Array,
  width: number,
  height: number,
  t: Similarity,
  radius: number,
): Promise<WarpedOnGraph> {
  return runWarpOutputs(
    `frame:${width}x${height}:r${radius}`,
    () => frameGraph(width, height, radius),
    {
      rgb: { data: rgb, dims: [1, height, width, 3] },
      coef: { data: warpCoefficients(t, width, height), dims: [6] },
    },
  );
}
