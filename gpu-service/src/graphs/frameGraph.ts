import type { Similarity } from "#shared/image/warp.ts";
import { type BuiltGraph, GraphBuilder, type SampleType, type Value } from "./builder.ts";
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
 * `samples`: the RGB as the decoder's 8- or 16-bit samples (a quarter or half of the float
 * bytes to upload), scaled on the device as `decodeRgb` scales them (v / max, float32: the same
 * bits), or as those floats.
 */
export function frameGraph(
  width: number,
  height: number,
  radius: number,
  samples?: SampleType,
): BuiltGraph {
  const g = new GraphBuilder("frame");
  const input = g.input("rgb", [1, height, width, 3], samples);
  const rgb = rgbPlanesNodes(g, samples ? unitNodes(g, input, samples) : input);
  const focus = focusMeasureNodes(g, grayNodes(g, rgb), width, height, radius);
  warpOutputNodes(g, focus, rgb, g.input("coef", [6]), width, height);
  return g.build();
}

/** Samples as float32 in 0…1: v / 255 or v / 65535, as `decodeRgb` divides. */
function unitNodes(g: GraphBuilder, samples: Value, type: SampleType): Value {
  const max = type === "uint8" ? 255 : 65535;
  return g.div(g.op("Cast", [samples], { to: FLOAT_TYPE }), g.constant(max));
}

/** onnx TensorProto.DataType.FLOAT, as Cast's `to`. */
const FLOAT_TYPE = 1;

/**
 * `frameGraph` on one frame: RGB [h·w·3] (floats, or the decoder's 8- or 16-bit samples) in,
 * its focus, colour and coverage registered to the reference out.
 */
export function frameOnGraph(
  rgb: Float32Array | Uint8Array | Uint16Array,
  width: number,
  height: number,
  t: Similarity,
  radius: number,
): Promise<WarpedOnGraph> {
  const samples: SampleType | undefined =
    rgb instanceof Uint8Array ? "uint8" : rgb instanceof Uint16Array ? "uint16" : undefined;
  return runWarpOutputs(
    `frame:${width}x${height}:r${radius}:${samples ?? "float"}`,
    () => frameGraph(width, height, radius, samples),
    {
      rgb: { data: rgb, dims: [1, height, width, 3] },
      coef: { data: warpCoefficients(t, width, height), dims: [6] },
    },
  );
}
