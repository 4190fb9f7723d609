import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { alignScaleShift, applyAlignment } from "./alignScaleShift.ts";

function scene(n: number, seed: number) {
  const rnd = mulberry32(seed);
  const prior = Float32Array.from({ length: n }, () => 0.2 + 2 * rnd());
  return { rnd, prior };
}

describe("alignScaleShift", () => {
  it("recovers a known scale and shift under 30% gross outliers", () => {
    const { rnd, prior } = scene(20_000, 1);
    const S = 0.7;
    const T = 0.15;
    const target = Float32Array.from(prior, (p) => S * p + T + 0.005 * (rnd() - 0.5));
    for (let i = 0; i < target.length; i++) if (rnd() < 0.3) target[i] = 0.05 + 3 * rnd(); // wrong focus peaks
    const conf = new Float32Array(prior.length).fill(0.8);
    const a = alignScaleShift(prior, target, conf);
    expect(a.fallback).toBeUndefined();
    expect(a.scale).toBeCloseTo(S, 2);
    expect(a.shift).toBeCloseTo(T, 2);
    expect(a.inlierFraction).toBeGreaterThan(0.6);
    expect(a.inlierFraction).toBeLessThan(0.8);
  });

  it("lets confident pixels outvote unconfident ones", () => {
    const { rnd, prior } = scene(10_000, 2);
    const target = new Float32Array(prior.length);
    const conf = new Float32Array(prior.length);
    for (let i = 0; i < prior.length; i++) {
      // Half the pixels agree on (2, 0.1) confidently; half on (0.5, 0.8) with low confidence.
      const good = i % 2 === 0;
      target[i] = good ? 2 * prior[i]! + 0.1 : 0.5 * prior[i]! + 0.8 + 0.001 * rnd();
      conf[i] = good ? 0.9 : 0.06;
    }
    const a = alignScaleShift(prior, target, conf);
    expect(a.scale).toBeCloseTo(2, 2);
    expect(a.shift).toBeCloseTo(0.1, 2);
  });

  it("refuses too few confident pixels cleanly: identity, a warning, never NaN", () => {
    const { prior } = scene(1000, 3);
    const conf = new Float32Array(prior.length); // nothing confident
    const a = alignScaleShift(prior, prior, conf);
    expect(a).toMatchObject({ fallback: "none", scale: 1, shift: 0, used: 0 });
    expect(a.warning).toMatch(/only 0 pixels have a usable focus peak/);
  });

  it("falls back to scale only when the best line has a negative scale", () => {
    const { rnd, prior } = scene(5000, 4);
    // Anti-correlated but positive: the best line slopes down; a depth map cannot.
    const target = Float32Array.from(prior, (p) => 3 - p + 0.01 * rnd());
    const a = alignScaleShift(prior, target, new Float32Array(prior.length).fill(1));
    expect(a.fallback).toBe("scale-only");
    expect(a.shift).toBe(0);
    expect(a.scale).toBeGreaterThan(0);
    expect(a.warning).toMatch(/scale-only/);
  });

  it("leaves out non-finite prior values and non-positive or non-finite targets", () => {
    const { rnd, prior } = scene(20_000, 6);
    const target = Float32Array.from(prior, (p) => 0.5 * p + 0.2 + 0.002 * (rnd() - 0.5));
    for (let i = 0; i < prior.length; i += 7)
      prior[i] = i % 2 ? Number.NaN : Number.POSITIVE_INFINITY;
    for (let i = 3; i < target.length; i += 11)
      target[i] = [Number.NaN, Number.POSITIVE_INFINITY, 0, -1][i % 4]!;
    const a = alignScaleShift(prior, target, new Float32Array(prior.length).fill(0.9));
    expect(a.fallback).toBeUndefined();
    expect(a.scale).toBeCloseTo(0.5, 3);
    expect(a.shift).toBeCloseTo(0.2, 3);
    expect(a.used).toBeGreaterThan(15_000);
    expect(a.used).toBeLessThanOrEqual(20_000);
  });

  it("handles a prior with no spread (constant) without NaN", () => {
    const prior = new Float32Array(5000).fill(1);
    const target = Float32Array.from(prior, (_, i) => 0.5 + (i % 7) * 0.01);
    const a = alignScaleShift(prior, target, new Float32Array(prior.length).fill(1));
    expect(Number.isFinite(a.scale) && Number.isFinite(a.shift)).toBe(true);
    expect(a.scale).toBeGreaterThan(0);
    expect(a.fallback).toBe("scale-only");
  });
});

describe("applyAlignment", () => {
  it("maps inverse depth to clamped metric depth", () => {
    const d = applyAlignment(
      Float32Array.from([1, 2, -5, 1e6]),
      { scale: 0.5, shift: 0 },
      { min: 0.1, max: 10 },
    );
    expect(Array.from(d)).toEqual([2, 1, 10, expect.closeTo(0.1, 6)]);
  });

  it("takes the fallback depth where the fit extrapolates past the far limit", () => {
    const d = applyAlignment(
      Float32Array.from([1, -5, 0.1]),
      { scale: 0.5, shift: -0.04 },
      { min: 0.1, max: 10 },
      Float32Array.from([7, 3, 40]),
    );
    expect(Array.from(d)).toEqual([expect.closeTo(1 / 0.46, 5), 3, 10]);
  });
});
