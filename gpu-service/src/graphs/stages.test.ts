import { describe, expect, it } from "vitest";
import { focusMeasure } from "#shared/dff/focusMeasure.ts";
import { refineAligned } from "#shared/fusion/fuse.ts";
import { boxMean } from "#shared/image/boxFilter.ts";
import type { Plane } from "#shared/image/types.ts";
import { boxMeanOnGraph } from "./boxMean.ts";
import { focusMeasureOnGraph } from "./focusMeasure.ts";
import { refineAlignedOnGraph } from "./refine.ts";
import { maxRelativeError, noise, sampleGray } from "./testInputs.ts";

// Float32 sums in another order than the reference's (float64 running sums): 1e-5 of the range.
const TOLERANCE = 1e-5;
// The refinement divides small float32 differences (the guide's local variance): 1e-4 of the range.
const REFINE_TOLERANCE = 1e-4;

describe("box mean graph", () => {
  for (const [w, h, r] of [
    [37, 23, 3],
    [16, 9, 12], // windows wider than the image: every window clipped
    [64, 48, 1],
  ] as const) {
    it(`matches boxMean on noise, ${w}×${h}, r=${r}`, async () => {
      const src = noise(w * h, w + h + r);
      const got = await boxMeanOnGraph(src, w, h, r);
      expect(maxRelativeError(got, boxMean(src, w, h, r))).toBeLessThan(TOLERANCE);
    });
  }
});

describe("focus measure graph", () => {
  it("matches focusMeasure on noise, odd sizes", async () => {
    for (const [w, h, r] of [
      [31, 17, 2],
      [2, 5, 1],
    ] as const) {
      const gray = { width: w, height: h, data: noise(w * h, 7 * w + h) };
      const got = await focusMeasureOnGraph(gray, r);
      expect(maxRelativeError(got, focusMeasure(gray, r))).toBeLessThan(TOLERANCE);
    }
  });

  it("matches focusMeasure on a real frame of the sample", async () => {
    const gray = await sampleGray();
    const got = await focusMeasureOnGraph(gray, 8);
    expect(maxRelativeError(got, focusMeasure(gray, 8))).toBeLessThan(TOLERANCE);
  });
});

describe("refinement graph", () => {
  /** Depths and confidences around a guide, with the reference's edge cases: no evidence, 0, ∞. */
  function fusionInput(guide: Plane) {
    const n = guide.width * guide.height;
    const u = noise(4 * n, n);
    const aligned = new Float32Array(n);
    const dffDepth = new Float32Array(n);
    const confidence = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      aligned[i] = 0.5 + 3 * guide.data[i]! + 0.2 * u[i]!;
      dffDepth[i] = aligned[i]! * (0.8 + 0.4 * u[n + i]!);
      confidence[i] = u[2 * n + i]! < 0.3 ? 0 : u[3 * n + i]!;
    }
    dffDepth[0] = Number.POSITIVE_INFINITY;
    dffDepth[1] = 0;
    aligned[2] = -1;
    return {
      input: { dffDepth, confidence, priorInverse: aligned, guide, range: { min: 0.3, max: 6 } },
      aligned,
    };
  }

  it("matches refineAligned on noise and on a real frame as guide", async () => {
    const real = await sampleGray();
    for (const guide of [{ width: 53, height: 41, data: noise(53 * 41, 5) }, real]) {
      const { input, aligned } = fusionInput(guide);
      const want = refineAligned(input, aligned.slice());
      const got = await refineAlignedOnGraph(input, aligned.slice());
      expect(maxRelativeError(got, want)).toBeLessThan(REFINE_TOLERANCE);
    }
  });
});
