import { type FusionInput, limitFarOutliers, REFINE_PASSES } from "#shared/fusion/fuse.ts";
import { DEFAULT_REFINE, type RefineOptions } from "#shared/fusion/refineScaleMap.ts";
import { boxMeanNodes } from "./boxMean.ts";
import { type BuiltGraph, GraphBuilder, type Value } from "./builder.ts";
import { runGraph, type StageRun } from "./graphSession.ts";

/**
 * The graph twin of `refineAligned` (shared/src/fusion/fuse.ts): the evidence, every pass of the
 * fast guided filter (`logScaleMap`), and the scale map applied and clamped, in one graph — the
 * planes go to the device once and the depth comes back once. Only `limitFarOutliers` (a
 * quantile of a subsample) stays in TypeScript.
 */
export function refineGraph(
  width: number,
  height: number,
  range: { min: number; max: number },
  passes: readonly Partial<RefineOptions>[] = REFINE_PASSES,
): BuiltGraph {
  const g = new GraphBuilder("refine_aligned");
  const dims = [1, 1, height, width];
  const aligned = g.input("aligned", dims);
  const dff = g.input("dff", dims);
  const confidence = g.input("confidence", dims);
  const guide = g.input("guide", dims);
  // Evidence where both depths are positive and finite and focus found a peak (NaN in the reference).
  const zero = g.constant(0);
  const inf = g.constant(Number.POSITIVE_INFINITY);
  const positiveFinite = (x: Value) =>
    g.op("And", [g.op("Greater", [x, zero]), g.op("Less", [x, inf])]);
  const usable = g.op("And", [
    g.op("And", [positiveFinite(aligned), positiveFinite(dff)]),
    g.op("Greater", [confidence, zero]),
  ]);
  const evidence = g.op("Log", [g.div(aligned, dff)]);
  let logScale: Value | undefined;
  for (const options of passes) {
    const o = { ...DEFAULT_REFINE, ...options };
    const target = logScale ? g.sub(evidence, logScale) : evidence;
    const logRatio = g.op("Where", [usable, target, zero]);
    const weight = g.op("Where", [usable, confidencePower(g, confidence, o.confidencePower), zero]);
    const pass = logScaleMapNodes(g, logRatio, weight, guide, width, height, o);
    logScale = logScale ? g.add(logScale, pass) : pass;
  }
  const scale = g.op("Exp", [g.op("Neg", [logScale ?? zero])]);
  g.output(g.clip(g.mul(aligned, scale), range.min, range.max), "depth", dims);
  return g.build();
}

function confidencePower(g: GraphBuilder, c: Value, power: number): Value {
  if (power === 0) return g.constant(1);
  if (power === 1) return c;
  if (power === 2) return g.mul(c, c);
  return g.op("Pow", [c, g.constant(power)]);
}

/**
 * `logScaleMap` as nodes: weighted window statistics on a grid `s` times coarser (cell means by
 * Reshape + ReduceSum over zero padding, divided by each cell's true pixel count), box means
 * there, the guided filter's a and b, and a·I + b with a and b upsampled by Resize (linear,
 * half-pixel: the reference's pixel-centre bilinear, clamped at the borders).
 */
function logScaleMapNodes(
  g: GraphBuilder,
  logRatio: Value,
  weight: Value,
  guide: Value,
  w: number,
  h: number,
  o: RefineOptions,
): Value {
  // The reference's geometry (refineScaleMap.ts, logScaleMap).
  const r = Math.max(1, Math.round(Math.min(w, h) * o.radiusFraction));
  const lim = Math.log(o.maxFactor);
  const s = Math.max(1, Math.floor(r / 4));
  const lw = Math.ceil(w / s);
  const lh = Math.ceil(h / s);
  const lr = Math.max(1, Math.round(r / s));

  const wt = g.add(weight, g.constant(o.priorWeight));
  const wl = g.mul(weight, g.clip(logRatio, -lim, lim));
  const wtI = g.mul(wt, guide);
  const stats = g.op("Concat", [wt, wtI, g.mul(wtI, guide), wl, g.mul(wl, guide)], { axis: 1 });
  const padded = g.op("Pad", [stats, g.ints([0, 0, 0, 0, 0, 0, lh * s - h, lw * s - w])]);
  const cells = g.op("ReduceSum", [g.reshape(padded, [5, lh, s, lw, s]), g.ints([2, 4])], {
    keepdims: 0,
  });
  const counts = new Float32Array(lh * lw);
  for (let cy = 0; cy < lh; cy++)
    for (let cx = 0; cx < lw; cx++)
      counts[cy * lw + cx] =
        1 / ((Math.min(h, (cy + 1) * s) - cy * s) * (Math.min(w, (cx + 1) * s) - cx * s));
  const means = g.mul(cells, g.constant(counts, [lh, lw]));
  const smooth = boxMeanNodes(g, g.reshape(means, [5, 1, lh, lw]), lh, lw, lr);
  const [W, WI, WII, WL, WIL] = g.opN("Split", [smooth], 5, { axis: 0 }) as [
    Value,
    Value,
    Value,
    Value,
    Value,
  ];
  const mI = g.div(WI, W);
  const mL = g.div(WL, W);
  const varI = g.sub(g.div(WII, W), g.mul(mI, mI));
  const cov = g.sub(g.div(WIL, W), g.mul(mI, mL));
  const a = g.div(cov, g.add(g.op("Relu", [varI]), g.constant(o.epsilon)));
  const b = g.sub(mL, g.mul(a, mI));
  const ab = boxMeanNodes(g, g.op("Concat", [a, b], { axis: 0 }), lh, lw, lr);
  const full = g.op("Resize", [ab, "", "", g.ints([2, 1, h, w])], {
    mode: "linear",
    coordinate_transformation_mode: "half_pixel",
  });
  const [fa, fb] = g.opN("Split", [full], 2, { axis: 0 }) as [Value, Value];
  return g.clip(g.add(g.mul(fa, guide), fb), -lim, lim);
}

/** `refineAligned` run as one graph (see `refineGraph`), then the far-outlier limit. */
export async function refineAlignedOnGraph(
  input: FusionInput,
  aligned: Float32Array,
): Promise<StageRun> {
  const { width: w, height: h } = input.guide;
  const { min, max } = input.range;
  const dims = [1, 1, h, w];
  const { outputs, provider } = await runGraph(
    `refine:${w}x${h}:${min}:${max}:${JSON.stringify(REFINE_PASSES)}`,
    () => refineGraph(w, h, input.range),
    {
      aligned: { data: aligned, dims },
      dff: { data: input.dffDepth, dims },
      confidence: { data: input.confidence, dims },
      guide: { data: input.guide.data, dims },
    },
  );
  const full = outputs.depth!;
  limitFarOutliers(full, input.range);
  return { data: full, ranOn: provider };
}
