import { describe, expect, it } from "vitest";
import { discreteGaussianBlur, gaussianBlur } from "../image/boxFilter.ts";
import { plane } from "../image/types.ts";
import { mulberry32 } from "../math/stats.ts";
import { focusMeasure } from "./focusMeasure.ts";
import {
  addMixedDepthVariance,
  type BlurModel,
  blurSigmaPx,
  DEFAULT_FOCUS_NOISE,
  describeBlur,
  type LensFitGrid,
  type LensFitPlan,
  measureWhiteNoiseResponse,
  NOISE_RESPONSES_KEPT,
  planLensFit,
  RESOLVED_BLUR_SIGMA,
  whiteNoiseResponse,
} from "./lensCurve.ts";

const GW = 12;
const GH = 8;
/** Only the grid size matters to the mixing term. */
const PLAN = { gw: GW, gh: GH } as LensFitPlan;

function grid(depthAt: (gx: number, gy: number) => number, variance = 1e-4): LensFitGrid {
  const position = new Float32Array(GW * GH);
  for (let gy = 0; gy < GH; gy++)
    for (let gx = 0; gx < GW; gx++) position[gy * GW + gx] = depthAt(gx, gy);
  return { position, variance: new Float32Array(GW * GH).fill(variance) };
}

describe("addMixedDepthVariance", () => {
  it("leaves a plane and a slope alone", () => {
    for (const depthAt of [() => 1.5, (gx: number, gy: number) => 0.5 + 0.1 * gx + 0.05 * gy]) {
      const g = grid(depthAt);
      const before = Float32Array.from(g.variance);
      addMixedDepthVariance(PLAN, g);
      expect(g.variance).toEqual(before);
    }
  });

  it("adds the spread of an occluding edge to the points beside it, only there", () => {
    const [near, far] = [2, 0.5];
    const g = grid((gx) => (gx < GW / 2 ? near : far));
    addMixedDepthVariance(PLAN, g);
    const half = (far - near) / 2;
    for (let gy = 1; gy < GH - 1; gy++) {
      // Beside the edge three of the four axes straddle it, each departing by half the step;
      // every axis takes off what the fits' own variances explain (1.5 × 1e-4).
      for (const gx of [GW / 2 - 1, GW / 2]) {
        const v = g.variance[gy * GW + gx]!;
        expect(v).toBeCloseTo(1e-4 + ((3 * half * half) / 4 - 1.5e-4), 6);
      }
      for (const gx of [1, 2, GW - 3, GW - 2])
        expect(g.variance[gy * GW + gx]).toBeCloseTo(1e-4, 9);
    }
  });

  it("adds nothing where the neighbours' own variances explain the spread", () => {
    // Alternating ±0.01 D: a departure of 0.01 against a 1σ of 0.02 in each fit.
    const g = grid((gx, gy) => 1 + ((gx + gy) % 2 ? 0.01 : -0.01), 4e-4);
    addMixedDepthVariance(PLAN, g);
    expect(Math.max(...g.variance)).toBeCloseTo(4e-4, 9);
  });

  it("skips points without a fit and does not take them as neighbours", () => {
    const g = grid((gx) => (gx === 5 ? 9 : 1));
    const i = 3 * GW + 5;
    g.variance.fill(Number.POSITIVE_INFINITY, 0, GW * GH);
    g.variance.fill(1e-4, 3 * GW, 4 * GW);
    addMixedDepthVariance(PLAN, g);
    // Row 3 alone is fitted: only the horizontal axis has both neighbours, and 9 vs 1 is a spike.
    expect(g.variance[i]).toBeCloseTo(1e-4 + 64 - 1.5e-4, 3);
    expect(g.variance[2 * GW + 5]).toBe(Number.POSITIVE_INFINITY);
    expect(g.variance[3 * GW + 2]).toBeCloseTo(1e-4, 9);
  });
});

describe("whiteNoiseResponse", () => {
  const levels = (step: number) => Array.from({ length: 12 }, (_, l) => l * step);

  it("gives what it measures, for each list of sigmas, however often asked", () => {
    for (const step of [0.1, 0.2 / 3, 8 / 11, 0.1 + 1e-15]) {
      const want = measureWhiteNoiseResponse(levels(step));
      expect(whiteNoiseResponse(levels(step))).toEqual(want);
      expect(whiteNoiseResponse(levels(step))).toEqual(want);
    }
    // Sigmas one ulp apart are different lists, and blur more or less.
    expect(whiteNoiseResponse(levels(0.1))[11]).not.toBe(whiteNoiseResponse(levels(0.3))[11]);
  });

  it("remembers only the most recently used lists", () => {
    const first = whiteNoiseResponse(levels(0.05));
    for (let k = 1; k < NOISE_RESPONSES_KEPT; k++) whiteNoiseResponse(levels(0.05 + k * 1e-3));
    expect(whiteNoiseResponse(levels(0.05))).toBe(first); // still kept, and now the newest
    for (let k = 1; k < NOISE_RESPONSES_KEPT; k++) whiteNoiseResponse(levels(0.2 + k * 1e-3));
    expect(whiteNoiseResponse(levels(0.05))).toBe(first);
    for (let k = 0; k < NOISE_RESPONSES_KEPT; k++) whiteNoiseResponse(levels(0.4 + k * 1e-3));
    const again = whiteNoiseResponse(levels(0.05));
    expect(again).not.toBe(first); // measured anew
    expect(again).toEqual(first);
  });
});

describe("planLensFit: known optics, calibrated to the stack", () => {
  // A textured scene in four strips at their own depths (diopters), seen through a focal stack
  // whose frames are blurred (a lens's Gaussian, `discreteGaussianBlur`) as `blur` says.
  const W = 96;
  const H = 96;
  const depths = [0.8, 1.4, 2.0, 2.6];
  const diopters = Float64Array.from([0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9]);
  const rnd = mulberry32(3);
  const aif = plane(
    W,
    H,
    gaussianBlur(
      Float32Array.from({ length: W * H }, () => rnd()),
      W,
      H,
      0.7,
    ),
  );

  function stack(blur: BlurModel): Float32Array[] {
    return Array.from(diopters, (focusD) => {
      const frame = new Float32Array(W * H);
      depths.forEach((depthD, s) => {
        const blurred = discreteGaussianBlur(aif.data, W, H, blurSigmaPx(blur, depthD, focusD));
        const x0 = (s * W) / depths.length;
        for (let y = 0; y < H; y++)
          frame.set(blurred.subarray(y * W + x0, y * W + x0 + W / depths.length), y * W + x0);
      });
      return focusMeasure(plane(W, H, frame), 2);
    });
  }

  // 25 mm f/2 on a 12 mm sensor, 96 px wide: up to ≈ 1.2 px sigma over these depths.
  const optics: BlurModel = {
    kind: "optics",
    optics: { lens: { focalLengthMm: 25, fNumber: 2, sensorWidthMm: 12 }, imageWidthPx: 96 },
  };
  const gainFound = (trueGain: number, model = optics) => {
    const focus = stack({ ...model, gain: trueGain } as BlurModel);
    const floors = new Float64Array(diopters.length).fill(1e-9);
    const plan = planLensFit(focus, floors, diopters, model, aif, DEFAULT_FOCUS_NOISE);
    return plan.blur.kind === "optics" ? plan.blur.gain : undefined;
  };

  it("finds the blur the frames really have, as a gain on the thin lens's", () => {
    for (const trueGain of [0.8, 1, 1.3]) {
      const gain = gainFound(trueGain)!;
      expect(Math.abs(Math.log(gain / trueGain))).toBeLessThan(Math.log(1.1));
    }
  });

  it("leaves the thin lens as it is where no frame blurs past RESOLVED_BLUR_SIGMA", () => {
    const small: BlurModel = {
      kind: "optics",
      optics: { lens: { focalLengthMm: 4, fNumber: 2, sensorWidthMm: 6 }, imageWidthPx: 96 },
    };
    // The widest blur of any candidate depth (they span the frames' range) in any frame.
    const widest = (model: BlurModel) =>
      Math.max(
        ...Array.from(diopters, (d) => Math.max(...diopters.map((f) => blurSigmaPx(model, d, f)))),
      );
    expect(widest(small)).toBeLessThan(RESOLVED_BLUR_SIGMA);
    expect(widest(optics)).toBeGreaterThan(RESOLVED_BLUR_SIGMA);
    expect(gainFound(1.3, small)).toBeUndefined();
  });

  it("leaves the thin lens as it is when no curve can be fitted (two frames)", () => {
    const two = Float64Array.from([0.5, 2.9]);
    const focus = stack({ ...optics, gain: 1.3 } as BlurModel).filter(
      (_, k) => k === 0 || k === diopters.length - 1,
    );
    const floors = new Float64Array(2).fill(1e-9);
    const plan = planLensFit(focus, floors, two, optics, aif, DEFAULT_FOCUS_NOISE);
    expect(plan.blur).toEqual(optics);
  });

  it("without optics, says when the blur it fits is not to be trusted", () => {
    const fitted = (pxPerDiopter: number) => {
      const focus = stack({ kind: "fitted", pxPerDiopter });
      const floors = new Float64Array(diopters.length).fill(1e-9);
      const { blur } = planLensFit(focus, floors, diopters, undefined, aif, DEFAULT_FOCUS_NOISE);
      if (blur.kind !== "fitted") throw new Error("no optics given, yet not fitted");
      return blur;
    };
    // Up to 2.4 px sigma: a scale the fit can tell.
    const clear = fitted(1);
    expect(clear.bound).toBeUndefined();
    expect(Math.abs(Math.log(clear.pxPerDiopter))).toBeLessThan(0.2);
    // Up to 0.12 px: too little defocus to tell. These noise-free curves fall into the
    // degenerate optimum (a blur of ≈ 50 px per diopter, past the response's 8 px), which is
    // flagged, as is a fit on the smallest scale.
    for (const pxPerDiopter of [0.05, 0.1]) expect(fitted(pxPerDiopter).bound).toBe("highest");
  });

  it("reports the calibrated blur per diopter and its gain", () => {
    const one = describeBlur(optics);
    const more = describeBlur({ ...optics, gain: 1.25 } as BlurModel);
    expect(one.blurGain).toBe(1);
    expect(more.blurGain).toBe(1.25);
    expect(more.blurPxPerDiopter).toBeCloseTo(1.25 * one.blurPxPerDiopter, 2);
  });
});
