import { CONFIDENCE_TAU } from "#shared/dff/accumulator.ts";
import {
  FINENESS_PRIOR,
  LENS_FIT_STRIDE,
  type LensFitGrid,
  type LensFitPlan,
} from "#shared/dff/lensCurve.ts";
import { type BuiltGraph, GraphBuilder, type Value } from "./builder.ts";
import { type GraphTensor, runGraph } from "./graphSession.ts";

const FLOAT = 1;
const INT64 = 7;

/**
 * The graph twin of `fitLensGridRows` (shared/src/dff/lensCurve.ts) for `points` fit-grid points
 * at once, laid out candidates × points: `PixelFit.prepare` as broadcast arithmetic over
 * frames × points, `PixelFit.at` for every candidate as three 1×1 Convs (φ and φ² against the
 * frame weights: matrix products without a [candidates, frames, points] tensor), `search` as
 * ArgMax of −χ² over the even candidates then over the best and its two neighbours (first index
 * wins, as the reference's strict `<`), the parabola and variance as in the reference.
 * Inputs: `focus` [K, points] (each grid point's focus curve), `floors` [K, 1], `phi` [M, K],
 * `params` [4] = lo, hi, floorNoise, modelNoise. Outputs `position` and `variance`, [points].
 */
export function lensFitGraph(frames: number, candidates: number, points: number): BuiltGraph {
  const K = frames;
  const M = candidates;
  const G = points;
  const g = new GraphBuilder("lens_fit");
  const focus = g.input("focus", [K, G]);
  const floors = g.input("floors", [K, 1]);
  const phi = g.input("phi", [M, K]);
  const params = g.input("params", [4]);
  const scalar = (i: number) => g.op("Gather", [params, g.ints([i])]);
  const [lo, hi, floorNoise, modelNoise] = [0, 1, 2, 3].map(scalar) as [Value, Value, Value, Value];
  const zero = g.constant(0);
  const sum0 = (x: Value) => g.op("ReduceSum", [x, g.ints([0])], { keepdims: 1 });

  // prepare: frames above their floor, weighted by their log-domain precision.
  const s = g.sub(focus, floors);
  const above = g.op("Greater", [s, zero]);
  const q = g.div(floors, s);
  const wt = g.op("Where", [
    above,
    g.div(g.constant(1), g.add(g.mul(g.mul(q, q), floorNoise), modelNoise)),
    zero,
  ]);
  // ln(s / peak): the peak is a per-point constant that a (texture energy) absorbs; the curve is
  // centred on its weighted mean instead, which float32 sums need (χ² is shift-invariant in y).
  const logS = g.op("Log", [g.op("Where", [above, s, g.constant(1)])]);
  const sw = sum0(wt);
  const safeSw = g.op("Max", [sw, g.constant(1e-30)]);
  const mean = g.div(sum0(g.mul(wt, logS)), safeSw);
  const y = g.op("Where", [above, g.sub(logS, mean), zero]);
  const wy = g.mul(wt, y);
  const flat = sum0(g.mul(wy, y));
  const used = sum0(g.op("Cast", [above], { to: FLOAT }));

  // at, for every candidate: sums over frames as Conv (weights φ, φ²) on [1, K, 1, G].
  const asChannels = (x: Value) => g.reshape(x, [1, K, 1, G]);
  const phiW = g.reshape(phi, [M, K, 1, 1]);
  const phi2W = g.reshape(g.mul(phi, phi), [M, K, 1, 1]);
  const overFrames = (x: Value, w: Value) => g.reshape(g.op("Conv", [asChannels(x), w]), [M, G]);
  const sp = overFrames(wt, phiW);
  const spp = overFrames(wt, phi2W);
  // Σ wt·y = 0 after centring, so C = Σ wt·φ·y.
  const C = overFrames(wy, phiW);
  const V = g.sub(spp, g.div(g.mul(sp, sp), safeSw));
  const kappa = g.constant(FINENESS_PRIOR);
  const b = g.op("Max", [zero, g.div(g.add(C, kappa), g.add(V, kappa))]);
  const bm1 = g.sub(b, g.constant(1));
  const chi = g.op("Max", [
    zero,
    g.add(
      g.add(g.sub(flat, g.mul(g.mul(g.constant(2), b), C)), g.mul(g.mul(b, b), V)),
      g.mul(kappa, g.mul(bm1, bm1)),
    ),
  ]);

  // search: every other candidate (and the last), then the best of those and its neighbours.
  const coarse: number[] = [];
  for (let j = 0; j < M; j += 2) coarse.push(j);
  if ((M - 1) % 2) coarse.push(M - 1);
  const argMin0 = (x: Value) =>
    g.op("ArgMax", [g.op("Neg", [x])], { axis: 0, keepdims: 1, select_last_index: 0 });
  const pick = g.op("Cast", [argMin0(g.op("Gather", [chi, g.ints(coarse)], { axis: 0 }))], {
    to: FLOAT,
  });
  const best = g.op("Gather", [
    g.constant(coarse, [coarse.length]),
    g.op("Cast", [pick], { to: INT64 }),
  ]);
  // χ² padded with +∞ a row each side: out-of-range neighbours never win.
  const inf = g.constant(new Float32Array(G).fill(Number.POSITIVE_INFINITY), [1, G]);
  const padded = g.op("Concat", [inf, chi, inf], { axis: 0 });
  const rows = (x: Value, offsets: number[]) =>
    g.op(
      "Cast",
      [
        g.op(
          "Concat",
          offsets.map((o) => g.add(x, g.constant(o + 1))),
          { axis: 0 },
        ),
      ],
      {
        to: INT64,
      },
    );
  // The best first: on a tie it stays, as with the reference's strict `<`.
  const around = g.op("GatherElements", [padded, rows(best, [0, -1, 1])], { axis: 0 });
  const t = g.op("ArgMax", [g.op("Neg", [around])], { axis: 0, keepdims: 1, select_last_index: 0 });
  const fine = g.add(best, g.op("Gather", [g.constant([0, -1, 1], [3]), t]));
  const chiBest = g.op("GatherElements", [around, t], { axis: 0 });

  // The parabola through the best candidate's χ² and its neighbours (one-sided at the ends).
  const step = g.div(g.sub(hi, lo), g.constant(M - 1));
  const j = g.clip(fine, 1, M - 2);
  const [c0, c1, c2] = g.opN(
    "Split",
    [g.op("GatherElements", [padded, rows(j, [-1, 0, 1])], { axis: 0 })],
    3,
    {
      axis: 0,
    },
  ) as [Value, Value, Value];
  const second = g.add(g.sub(c0, g.mul(g.constant(2), c1)), c2);
  const curv = g.div(second, g.mul(step, step));
  const candidate = (x: Value) => g.add(lo, g.mul(x, step));
  const interior = g.op("And", [
    g.op("Greater", [curv, zero]),
    g.op("Less", [g.op("Abs", [g.sub(fine, j)]), g.constant(0.5)]),
  ]);
  const pos = g.op("Where", [
    interior,
    g.add(candidate(j), g.div(g.mul(g.mul(g.constant(0.5), step), g.sub(c0, c2)), second)),
    candidate(fine),
  ]);
  const dof = g.sub(used, g.constant(3));
  const inflate = g.op("Where", [
    g.op("Greater", [dof, zero]),
    g.op("Max", [g.constant(1), g.div(chiBest, g.op("Max", [dof, g.constant(1)]))]),
    g.constant(1),
  ]);
  // Under 3 frames above the floor: no fit (the middle of the range, infinite variance).
  const fitted = g.op("Greater", [used, g.constant(2.5)]);
  const clamped = g.op("Min", [hi, g.op("Max", [lo, pos])]);
  const middle = g.add(lo, g.mul(g.constant(0.5), g.sub(hi, lo)));
  g.output(g.reshape(g.op("Where", [fitted, clamped, middle]), [G]), "position", [G]);
  const variance = g.op("Where", [
    g.op("And", [fitted, g.op("Greater", [curv, zero])]),
    g.mul(g.div(g.constant(2), curv), inflate),
    g.constant(Number.POSITIVE_INFINITY),
  ]);
  g.output(g.reshape(variance, [G]), "variance", [G]);
  return g.build();
}

/**
 * Grid rows [gy0, gy1)'s focus curves, frames × points: the pixels `fitLensGridRows` reads
 * (every `LENS_FIT_STRIDE`th, at the cell centre, clamped to the image).
 */
export function gridFocus(
  plan: LensFitPlan,
  focus: readonly Float32Array[],
  gy0: number,
  gy1: number,
): Float32Array {
  const { width: w, height: h, gw } = plan;
  const S = LENS_FIT_STRIDE;
  const G = (gy1 - gy0) * gw;
  const out = new Float32Array(focus.length * G);
  for (let gy = gy0; gy < gy1; gy++) {
    const py = Math.min(h - 1, gy * S + (S >> 1));
    for (let gx = 0; gx < gw; gx++) {
      const i = py * w + Math.min(w - 1, gx * S + (S >> 1));
      const g = (gy - gy0) * gw + gx;
      for (let k = 0; k < focus.length; k++) out[k * G + g] = focus[k]![i]!;
    }
  }
  return out;
}

/** Grid points per graph run at most (whole grid rows, one at least). */
const CHUNK_POINTS = 40_000;

/** Grid rows per graph run: bounds the device memory at any image size. */
export function lensFitChunkRows(
  plan: Pick<LensFitPlan, "gw" | "gh">,
  points = CHUNK_POINTS,
): number {
  return Math.max(1, Math.min(plan.gh, Math.floor(points / plan.gw)));
}

/** The graph and its inputs for the chunk of grid rows from `gy0` (see `lensFitChunkRows`). */
export function lensFitChunk(
  plan: LensFitPlan,
  focus: readonly Float32Array[],
  gy0: number,
  points = CHUNK_POINTS,
): [() => BuiltGraph, Record<string, GraphTensor>, string, number] {
  const K = focus.length;
  const M = plan.candidates.length;
  const gy1 = Math.min(plan.gh, gy0 + lensFitChunkRows(plan, points));
  const G = (gy1 - gy0) * plan.gw;
  const inputs = {
    focus: { data: gridFocus(plan, focus, gy0, gy1), dims: [K, G] },
    floors: { data: Float32Array.from(plan.floors), dims: [K, 1] },
    phi: { data: Float32Array.from(plan.phi), dims: [M, K] },
    params: {
      data: Float32Array.of(plan.lo, plan.hi, plan.noise.floorNoise, plan.noise.modelNoise),
      dims: [4],
    },
  };
  return [() => lensFitGraph(K, M, G), inputs, `lensFit:${K}:${M}:${G}`, gy1];
}

/**
 * `fitLensGridRows` over the whole grid, as graphs of `lensFitChunkRows` grid rows each (the
 * focus curves cross to the device once, the depths and variances come back once).
 */
export async function fitLensGridOnGraph(
  plan: LensFitPlan,
  focus: readonly Float32Array[],
  grid: LensFitGrid,
  points = CHUNK_POINTS,
): Promise<string> {
  let provider = "js";
  for (let gy0 = 0; gy0 < plan.gh; ) {
    const [build, inputs, key, gy1] = lensFitChunk(plan, focus, gy0, points);
    const run = await runGraph(key, build, inputs);
    grid.position.set(run.outputs.position!, gy0 * plan.gw);
    grid.variance.set(run.outputs.variance!, gy0 * plan.gw);
    provider = run.provider;
    gy0 = gy1;
  }
  return provider;
}

/**
 * The graph twin of `finishLensFit` + `DffAccumulator`'s depth and confidence
 * (shared/src/dff/lensCurve.ts `upsampleGrid`, shared/src/dff/accumulator.ts `confidenceOf`):
 * the fit grid upsampled bilinearly to every pixel (Gather of each pixel's two grid columns,
 * then its two grid rows, with the reference's clamped weights as constants; a variance is
 * infinite next to an infinite grid value), then depth = 1 / position and confidence
 * τ²/(τ² + variance / position²), 0 where the variance is infinite.
 */
export function lensFinishGraph(width: number, height: number): BuiltGraph {
  const S = LENS_FIT_STRIDE;
  const gw = Math.ceil(width / S);
  const gh = Math.ceil(height / S);
  const g = new GraphBuilder("lens_finish");
  const position = g.input("position", [gh, gw]);
  const variance = g.input("variance", [gh, gw]);
  // The reference's sample geometry, per column and per row.
  const axis = (n: number, gn: number) => {
    const half = S >> 1;
    const lo: number[] = [];
    const hi: number[] = [];
    const t = new Float32Array(n);
    for (let x = 0; x < n; x++) {
      const f = Math.min(gn - 1, Math.max(0, (x - half) / S));
      lo.push(Math.floor(f));
      hi.push(Math.min(gn - 1, Math.floor(f) + 1));
      t[x] = f - Math.floor(f);
    }
    return { lo: g.ints(lo), hi: g.ints(hi), t };
  };
  const xs = axis(width, gw);
  const ys = axis(height, gh);
  const tx = g.constant(xs.t, [1, width]);
  const ty = g.constant(ys.t, [height, 1]);
  const one = g.constant(1);
  const mix = (a: Value, b: Value, t: Value) => g.add(g.mul(a, g.sub(one, t)), g.mul(b, t));
  const gather = (x: Value, index: Value, ax: number) => g.op("Gather", [x, index], { axis: ax });
  const bilinear = (v: Value) => {
    const across = mix(gather(v, xs.lo, 1), gather(v, xs.hi, 1), tx);
    return mix(gather(across, ys.lo, 0), gather(across, ys.hi, 0), ty);
  };
  const touches = (v: Value) => {
    const across = g.op("Max", [gather(v, xs.lo, 1), gather(v, xs.hi, 1)]);
    return g.op("Max", [gather(across, ys.lo, 0), gather(across, ys.hi, 0)]);
  };
  const zero = g.constant(0);
  const infinite = g.op("Greater", [variance, g.constant(3.4e38)]);
  const finiteVar = g.op("Where", [infinite, zero, variance]);
  const noFit = g.op("Greater", [
    touches(g.op("Cast", [infinite], { to: FLOAT })),
    g.constant(0.5),
  ]);
  const p = bilinear(position);
  const tau2 = g.constant(CONFIDENCE_TAU * CONFIDENCE_TAU);
  const relVariance = g.div(bilinear(finiteVar), g.mul(p, p));
  const confidence = g.op("Where", [noFit, zero, g.div(tau2, g.add(tau2, relVariance))]);
  g.output(g.div(one, p), "depth", [height, width]);
  g.output(confidence, "confidence", [height, width]);
  return g.build();
}

/** `lensFinishGraph` run on a fitted grid: depth and confidence at every pixel. */
export async function finishLensFitOnGraph(
  plan: LensFitPlan,
  grid: LensFitGrid,
): Promise<{ depth: Float32Array; confidence: Float32Array; ranOn: string }> {
  const { width: w, height: h, gw, gh } = plan;
  const { outputs, provider } = await runGraph(
    `lensFinish:${w}x${h}`,
    () => lensFinishGraph(w, h),
    {
      position: { data: grid.position, dims: [gh, gw] },
      variance: { data: grid.variance, dims: [gh, gw] },
    },
  );
  return { depth: outputs.depth!, confidence: outputs.confidence!, ranOn: provider };
}
