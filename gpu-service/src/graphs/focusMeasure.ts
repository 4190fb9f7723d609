import type { Plane } from "#shared/image/types.ts";
import { boxMeanNodes } from "./boxMean.ts";
import { type BuiltGraph, GraphBuilder, type Value } from "./builder.ts";
import { runGraph, type StageRun } from "./graphSession.ts";

/**
 * The graph twin of `focusMeasure` (shared/src/dff/focusMeasure.ts): the squared modified
 * Laplacian with mirrored borders (Pad reflect: −1 → 1, as `mirror`), then its window mean.
 * Needs both sides ≥ 2 px (reflect padding of a 1-pixel side is undefined).
 */
export function focusMeasureGraph(width: number, height: number, radius: number): BuiltGraph {
  const g = new GraphBuilder("focus_measure");
  const dims = [1, 1, height, width];
  g.output(focusMeasureNodes(g, g.input("gray", dims), width, height, radius), "focus", dims);
  return g.build();
}

/** `focusMeasureGraph`'s nodes over gray [1, 1, h, w], to compose into larger graphs. */
export function focusMeasureNodes(
  g: GraphBuilder,
  gray: Value,
  width: number,
  height: number,
  radius: number,
): Value {
  if (width < 2 || height < 2) throw new RangeError("the focus-measure graph needs ≥ 2×2 pixels");
  const secondDifference = (pads: number[], kernelDims: number[]): Value => {
    const padded = g.op("Pad", [gray, g.ints(pads)], { mode: "reflect" });
    const d2 = g.op("Conv", [padded, g.constant([-1, 2, -1], kernelDims)]);
    return g.op("Abs", [d2]);
  };
  const ml = g.add(
    secondDifference([0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 1, 3]),
    secondDifference([0, 0, 1, 0, 0, 0, 1, 0], [1, 1, 3, 1]),
  );
  return boxMeanNodes(g, g.mul(ml, ml), height, width, radius);
}

/** Luma of RGB [1, 3, h, w] as `toGray` weighs it (a 1×1 Conv), [1, 1, h, w]. */
export function grayNodes(g: GraphBuilder, rgbPlanes: Value): Value {
  return g.op("Conv", [rgbPlanes, g.constant(LUMA, [1, 3, 1, 1])]);
}

/** `toGray`'s weights (shared/src/image/types.ts). */
const LUMA = [0.299, 0.587, 0.114];

export async function focusMeasureOnGraph(gray: Plane, windowRadius: number): Promise<StageRun> {
  const { width: w, height: h } = gray;
  const { outputs, provider } = await runGraph(
    `focusMeasure:${w}x${h}:r${windowRadius}`,
    () => focusMeasureGraph(w, h, windowRadius),
    { gray: { data: gray.data, dims: [1, 1, h, w] } },
  );
  return { data: outputs.focus!, ranOn: provider };
}
