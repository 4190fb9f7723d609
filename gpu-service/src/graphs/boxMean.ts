import type { BuiltGraph, GraphBuilder, Value } from "./builder.ts";
import { GraphBuilder as Builder } from "./builder.ts";
import { runGraph } from "./graphSession.ts";

/** 1 / (pixels a clipped window of radius r covers) along a line of `len` (as boxMean divides). */
export function windowReciprocals(len: number, r: number): Float32Array {
  const inv = new Float32Array(len);
  for (let i = 0; i < len; i++) inv[i] = 1 / (Math.min(i + r, len - 1) - Math.max(i - r, 0) + 1);
  return inv;
}

/**
 * Window means of radius r over x [n, 1, h, w], windows clipped at the border and divided by
 * the pixels they cover (as `boxMean`): two separable ones-kernel Convs over zero padding, then
 * the per-row and per-column reciprocal counts (broadcast, never a full-size plane).
 */
export function boxMeanNodes(g: GraphBuilder, x: Value, h: number, w: number, r: number): Value {
  const k = 2 * r + 1;
  const ones = (dims: number[]) => g.constant(new Float32Array(k).fill(1), dims);
  const rows = g.op("Conv", [x, ones([1, 1, 1, k])], { pads: [0, r, 0, r] });
  const sums = g.op("Conv", [rows, ones([1, 1, k, 1])], { pads: [r, 0, r, 0] });
  const perColumn = g.mul(sums, g.constant(windowReciprocals(w, r), [1, 1, 1, w]));
  return g.mul(perColumn, g.constant(windowReciprocals(h, r), [1, 1, h, 1]));
}

export function boxMeanGraph(width: number, height: number, radius: number): BuiltGraph {
  const g = new Builder("box_mean");
  const dims = [1, 1, height, width];
  g.output(boxMeanNodes(g, g.input("x", dims), height, width, radius), "mean", dims);
  return g.build();
}

/** The graph twin of `boxMean` (shared/src/image/boxFilter.ts). */
export async function boxMeanOnGraph(
  src: Float32Array,
  width: number,
  height: number,
  radius: number,
): Promise<Float32Array> {
  const { outputs } = await runGraph(
    `boxMean:${width}x${height}:r${radius}`,
    () => boxMeanGraph(width, height, radius),
    { x: { data: src, dims: [1, 1, height, width] } },
  );
  return outputs.mean!;
}
