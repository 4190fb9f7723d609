import { describe, expect, it } from "vitest";
import { gaussianSource, mulberry32 } from "../math/stats.ts";
import { confidenceCalibration } from "./confidenceCalibration.ts";

const TAU = 0.1;
/** Depths whose log error is Gaussian with `factor` times the σ each pixel's confidence predicts. */
function sample(n: number, factor: number) {
  const uniform = mulberry32(3);
  const normal = gaussianSource(uniform);
  const gt = new Float32Array(n);
  const pred = new Float32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = 0.5 + 0.49 * uniform();
    const sigma = TAU * Math.sqrt((1 - c) / c);
    gt[i] = 0.5 + 3 * uniform();
    pred[i] = gt[i]! * Math.exp(factor * sigma * normal());
    confidence[i] = c;
  }
  return { gt, pred, confidence };
}

describe("confidenceCalibration", () => {
  it("reads 1 where confidence predicts the error, and the factor where it understates it", () => {
    for (const factor of [1, 2]) {
      const { gt, pred, confidence } = sample(20_000, factor);
      const c = confidenceCalibration(pred, gt, confidence, TAU);
      expect(c.count).toBe(20_000);
      expect(c.errorOverSigma68).toBeGreaterThan(0.97 * factor);
      expect(c.errorOverSigma68).toBeLessThan(1.03 * factor);
    }
  });

  it("leaves out invalid pixels, unconfident ones and certainty", () => {
    const gt = Float32Array.of(1, 0, 1, 1, 1, Number.NaN, 1);
    const pred = Float32Array.of(Math.exp(0.2), 1, 0, 1, 1, 1, Math.exp(-0.05));
    const confidence = Float32Array.of(0.5, 0.9, 0.9, 0.4, 1, 0.9, 0.8);
    const c = confidenceCalibration(pred, gt, confidence, TAU);
    // Only pixel 0 (σ = τ: z = 0.2 / 0.1 = 2) and pixel 6 (σ = τ/2: z = 0.05 / 0.05 = 1) are
    // scored; the 68th percentile of two is the smaller.
    expect(c.count).toBe(2);
    expect(c.errorOverSigma68).toBeCloseTo(1, 5);
  });

  it("is NaN with nothing to score, and refuses planes of different sizes", () => {
    const one = Float32Array.of(1);
    expect(confidenceCalibration(one, one, Float32Array.of(0.1), TAU).errorOverSigma68).toBeNaN();
    expect(() => confidenceCalibration(one, Float32Array.of(1, 2), one, TAU)).toThrow(RangeError);
  });
});
