import { describe, expect, it } from "vitest";
import { focusMeasure } from "#shared/dff/focusMeasure.ts";
import { refineAligned } from "#shared/fusion/fuse.ts";
import { boxMean } from "#shared/image/boxFilter.ts";
import { boxMeanOnGraph } from "./boxMean.ts";
import { focusMeasureOnGraph } from "./focusMeasure.ts";
import { refineAlignedOnGraph } from "./refine.ts";
import { fusionInput, maxRelativeError, noise, sampleGray } from "./testInputs.ts";

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
      const got = (await focusMeasureOnGraph(gray, r)).data;
      expect(maxRelativeError(got, focusMeasure(gray, r))).toBeLessThan(TOLERANCE);
    }
  });

  it("matches focusMeasure on a real frame of the sample", async () => {
    const gray = await sampleGray();
    const got = (await focusMeasureOnGraph(gray, 8)).data;
    expect(maxRelativeError(got, focusMeasure(gray, 8))).toBeLessThan(TOLERANCE);
  });
});

describe("refinement graph", () => {
  it("matches refineAligned on noise and on a real frame as guide", async () => {
    const real = await sampleGray();
    for (const guide of [{ width: 53, height: 41, data: noise(53 * 41, 5) }, real]) {
      const { input, aligned } = fusionInput(guide);
      const want = refineAligned(input, aligned.slice());
      const got = (await refineAlignedOnGraph(input, aligned.slice())).data;
      expect(maxRelativeError(got, want)).toBeLessThan(REFINE_TOLERANCE);
    }
  });
});
