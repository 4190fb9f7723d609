import type { Similarity } from "#shared/image/warp.ts";
import { type BuiltGraph, GraphBuilder, type Value } from "./builder.ts";
import { type GraphTensor, runGraph } from "./graphSession.ts";

/**
 * The graph twin of `warpSimilarity` (shared/src/image/warp.ts) for one registered frame: its
 * focus measure and RGB as four channels through one GridSample (bilinear, border padding =
 * the reference's nearest-border clamp, align_corners: −1…1 spans pixel centres 0…n−1), and the
 * mask of samples inside the source. The transform is an input: one graph per frame size.
 */
export function warpGraph(width: number, height: number): BuiltGraph {
  const g = new GraphBuilder("warp_frame");
  const focus = g.input("focus", [1, 1, height, width]);
  const rgb = rgbPlanesNodes(g, g.input("rgb", [1, height, width, 3]));
  warpOutputNodes(g, focus, rgb, g.input("coef", [6]), width, height);
  return g.build();
}

/** Interleaved RGB [1, h, w, 3] (as decoded) as planes [1, 3, h, w]. */
export function rgbPlanesNodes(g: GraphBuilder, rgb: Value): Value {
  return g.op("Transpose", [rgb], { perm: [0, 3, 1, 2] });
}

/**
 * The warp's nodes and outputs: focus [1, 1, h, w] and RGB planes [1, 3, h, w] through the
 * similarity `coef` (see `warpCoefficients`), out as `warpedFocus` [1, 1, h, w], `warpedRgb`
 * interleaved [1, h, w, 3] and the boolean mask `inside` [1, h, w].
 */
export function warpOutputNodes(
  g: GraphBuilder,
  focus: Value,
  rgbPlanes: Value,
  coef: Value,
  width: number,
  height: number,
): void {
  // coef: px = c0·x + c1·y + c2 and py = c3·x + c4·y + c5 in source pixels.
  const c = (k: number): Value => g.op("Gather", [coef, g.ints([k])]);
  const xs = g.constant(
    Array.from({ length: width }, (_, x) => x),
    [1, 1, width],
  );
  const ys = g.constant(
    Array.from({ length: height }, (_, y) => y),
    [1, height, 1],
  );
  const plane = (k: number) => g.add(g.add(g.mul(c(k), xs), g.mul(c(k + 1), ys)), c(k + 2));
  const px = plane(0);
  const py = plane(3);
  const normalized = (p: Value, size: number) =>
    g.op("Unsqueeze", [
      size > 1
        ? g.sub(g.mul(p, g.constant(2 / (size - 1))), g.constant(1))
        : g.mul(p, g.constant(0)),
      g.ints([3]),
    ]);
  const grid = g.op("Concat", [normalized(px, width), normalized(py, height)], { axis: 3 });
  const channels = g.op("Concat", [focus, rgbPlanes], { axis: 1 });
  const warped = g.op("GridSample", [channels, grid], {
    mode: "bilinear",
    padding_mode: "border",
    align_corners: 1,
  });
  const [wf, wc] = g.opN("Split", [warped, g.ints([1, 3])], 2, { axis: 1 }) as [Value, Value];
  g.output(wf, "warpedFocus", [1, 1, height, width]);
  g.output(g.op("Transpose", [wc], { perm: [0, 2, 3, 1] }), "warpedRgb", [1, height, width, 3]);
  const zero = g.constant(0);
  const within = (p: Value, max: number) =>
    g.op("And", [
      g.op("Not", [g.op("Less", [p, zero])]),
      g.op("Not", [g.op("Greater", [p, g.constant(max)])]),
    ]);
  g.outputMask(g.op("And", [within(px, width - 1), within(py, height - 1)]), "inside", [
    1,
    height,
    width,
  ]);
}

/** The similarity about the image centre as source-pixel coefficients (see `warpGraph`). */
export function warpCoefficients(t: Similarity, width: number, height: number): Float32Array {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const m = 1 + t.a;
  return Float32Array.from([
    m,
    -t.b,
    cx - m * cx + t.b * cy + t.tx,
    t.b,
    m,
    cy - t.b * cx - m * cy + t.ty,
  ]);
}

/** A frame registered to the reference on a graph: its focus measure, colour and coverage. */
export interface WarpedOnGraph {
  focus: Float32Array;
  color: Float32Array;
  inside: Uint8Array;
  ranOn: string;
}

/** Runs a graph whose outputs are `warpOutputNodes`'s. */
export async function runWarpOutputs(
  key: string,
  build: () => BuiltGraph,
  inputs: Record<string, GraphTensor>,
): Promise<WarpedOnGraph> {
  const { outputs, masks, provider } = await runGraph(key, build, inputs);
  return {
    focus: outputs.warpedFocus!,
    color: outputs.warpedRgb!,
    inside: masks.inside!,
    ranOn: provider,
  };
}

/** A registered frame's focus measure and colour warped to the reference, on the graph. */
export function warpFrameOnGraph(
  focus: Float32Array,
  rgb: Float32Array,
  width: number,
  height: number,
  t: Similarity,
): Promise<WarpedOnGraph> {
  return runWarpOutputs(`warp:${width}x${height}`, () => warpGraph(width, height), {
    focus: { data: focus, dims: [1, 1, height, width] },
    rgb: { data: rgb, dims: [1, height, width, 3] },
    coef: { data: warpCoefficients(t, width, height), dims: [6] },
  });
}
