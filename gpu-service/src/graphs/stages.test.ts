import { describe, expect, it } from "vitest";
import { focusMeasure } from "#shared/dff/focusMeasure.ts";
import { refineAligned } from "#shared/fusion/fuse.ts";
import { boxMean } from "#shared/image/boxFilter.ts";
import { toGray } from "#shared/image/types.ts";
import { warpSimilarity } from "#shared/image/warp.ts";
import { boxMeanOnGraph } from "./boxMean.ts";
import { focusMeasureOnGraph } from "./focusMeasure.ts";
import { frameOnGraph } from "./frameGraph.ts";
import { graphTransfers, resetGraphTransfers } from "./graphSession.ts";
import { refineAlignedOnGraph } from "./refine.ts";
import { fusionInput, maxRelativeError, noise, sampleGray, sampleRgb } from "./testInputs.ts";
import { warpFrameOnGraph } from "./warp.ts";

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

// Sample positions in float32 (≈1e-4 px at 640 px) instead of float64: 1e-3 of the range.
const WARP_TOLERANCE = 1e-3;
const t = { a: 0.01, b: 0.02, tx: 3.3, ty: -2.1 };

/** Pixels where two inside masks differ. */
function maskDifferences(a: Uint8Array, b: Uint8Array): number {
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  return differ;
}

describe("warp graph", () => {
  it("matches warpSimilarity (focus, colour and inside mask) on noise and a real frame", async () => {
    const real = await sampleGray();
    for (const gray of [{ width: 45, height: 31, data: noise(45 * 31, 3) }, real]) {
      const { width: w, height: h } = gray;
      const rgb = noise(3 * w * h, 11);
      const inside = new Uint8Array(w * h);
      const wantFocus = warpSimilarity(gray.data, w, h, 1, t, undefined, inside);
      const wantColor = warpSimilarity(rgb, w, h, 3, t);
      const got = await warpFrameOnGraph(gray.data, rgb, w, h, t);
      expect(maxRelativeError(got.focus, wantFocus)).toBeLessThan(WARP_TOLERANCE);
      expect(maxRelativeError(got.color, wantColor)).toBeLessThan(WARP_TOLERANCE);
      // The mask may differ only where a sample lies on the border within float32 rounding.
      expect(maskDifferences(inside, got.inside)).toBeLessThanOrEqual(Math.ceil(0.001 * w * h));
      expect(inside.includes(0)).toBe(true);
    }
  });
});

describe("frame graph (gray, focus measure and warp in one)", () => {
  it("matches toGray → focusMeasure → warpSimilarity on noise and a real frame", async () => {
    const real = await sampleRgb();
    for (const [rgb, r] of [
      [{ width: 45, height: 31, data: noise(3 * 45 * 31, 13) }, 2],
      [real, 8],
    ] as const) {
      const { width: w, height: h } = rgb;
      const inside = new Uint8Array(w * h);
      const focus = focusMeasure(toGray(rgb), r);
      const wantFocus = warpSimilarity(focus, w, h, 1, t, undefined, inside);
      const wantColor = warpSimilarity(rgb.data, w, h, 3, t);
      const got = await frameOnGraph(rgb.data, w, h, t, r);
      // The focus measure's 1e-5 carried through the warp's 1e-3: the warp's bound holds both.
      expect(maxRelativeError(got.focus, wantFocus)).toBeLessThan(WARP_TOLERANCE);
      expect(maxRelativeError(got.color, wantColor)).toBeLessThan(WARP_TOLERANCE);
      expect(maskDifferences(inside, got.inside)).toBeLessThanOrEqual(Math.ceil(0.001 * w * h));
      expect(inside.includes(0)).toBe(true);
    }
  });

  it("gives the same bits from the decoder's 8-bit samples as from their floats", async () => {
    const real = await sampleRgb();
    expect(real.samples).toBeInstanceOf(Uint8Array);
    const { width: w, height: h } = real;
    const fromSamples = await frameOnGraph(real.samples!, w, h, t, 8);
    const fromFloats = await frameOnGraph(real.data, w, h, t, 8);
    expect(fromSamples.focus).toEqual(fromFloats.focus);
    expect(fromSamples.color).toEqual(fromFloats.color);
    expect(fromSamples.inside).toEqual(fromFloats.inside);
  });

  it("and from 16-bit samples", async () => {
    const [w, h] = [23, 19];
    const samples = Uint16Array.from(noise(3 * w * h, 19), (v) => Math.floor(65536 * v));
    const floats = Float32Array.from(samples, (v) => v / 65535);
    const a = await frameOnGraph(samples, w, h, t, 2);
    const b = await frameOnGraph(floats, w, h, t, 2);
    expect(a.focus).toEqual(b.focus);
    expect(a.color).toEqual(b.color);
  });

  it("crosses once each way: samples and the transform up; focus, RGB and a byte mask down", async () => {
    const [w, h] = [40, 30];
    const n = w * h;
    const down = 4 * (n + 3 * n) + n;
    resetGraphTransfers();
    await frameOnGraph(
      Uint8Array.from(noise(3 * n, 17), (v) => 255 * v),
      w,
      h,
      t,
      3,
    );
    expect(graphTransfers()).toEqual({
      runs: 1,
      upload: 3 * n + 4 * 6,
      download: down,
      byGraph: { frame: 3 * n + 4 * 6 + down },
    });
    resetGraphTransfers();
    await frameOnGraph(noise(3 * n, 17), w, h, t, 3);
    expect(graphTransfers().upload).toBe(4 * (3 * n + 6));
  });
});
