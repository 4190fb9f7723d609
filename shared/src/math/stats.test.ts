import { describe, expect, it } from "vitest";
import { countAtLeast, mulberry32, quantile, selectKth } from "./stats.ts";

/** The quantile by sorting, as it was defined before selection replaced the sort. */
function sortedQuantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

describe("selectKth", () => {
  it("finds every order statistic and partitions around it", () => {
    const rnd = mulberry32(7);
    for (const n of [1, 2, 3, 10, 101, 1000]) {
      const base = Float64Array.from({ length: n }, () => Math.floor(rnd() * n) / 7); // with ties
      const sorted = Float64Array.from(base).sort();
      for (const k of [0, n >> 2, n >> 1, n - 1]) {
        const v = Float64Array.from(base);
        expect(selectKth(v, k)).toBe(sorted[k]);
        for (let i = 0; i < k; i++) expect(v[i]).toBeLessThanOrEqual(v[k]!);
        for (let i = k + 1; i < n; i++) expect(v[i]).toBeGreaterThanOrEqual(v[k]!);
      }
    }
  });

  it("handles constant, sorted and reversed input", () => {
    const n = 5000;
    for (const v of [
      new Float64Array(n).fill(3),
      Float64Array.from({ length: n }, (_, i) => i),
      Float64Array.from({ length: n }, (_, i) => n - i),
    ]) {
      const sorted = Float64Array.from(v).sort();
      expect(selectKth(v, 1234)).toBe(sorted[1234]);
    }
  });
});

describe("countAtLeast", () => {
  it("counts the values at or above the threshold, never NaN", () => {
    const v = Float32Array.of(0.1, 0.5, 0.5, 0.9, Number.NaN, Number.POSITIVE_INFINITY);
    expect(countAtLeast(v, 0.5)).toBe(4);
    expect(countAtLeast(v, 1)).toBe(1);
    expect(countAtLeast(new Float32Array(0), 0)).toBe(0);
  });
});

describe("quantile", () => {
  it("equals the sorted-array definition, interpolating between order statistics", () => {
    const rnd = mulberry32(11);
    for (const n of [1, 2, 5, 100, 2001]) {
      const values = Array.from({ length: n }, () => (rnd() < 0.05 ? Number.NaN : rnd() * 10));
      if (!values.some(Number.isFinite)) continue;
      for (const q of [0, 0.1, 0.25, 0.5, 0.99, 1])
        expect(quantile(values, q)).toBe(sortedQuantile(values, q));
    }
  });

  it("is NaN without finite values and leaves its input alone", () => {
    expect(quantile([Number.NaN, Number.POSITIVE_INFINITY], 0.5)).toBeNaN();
    const values = Float32Array.from([3, 1, 2]);
    expect(quantile(values, 0.5)).toBe(2);
    expect(Array.from(values)).toEqual([3, 1, 2]);
  });
});
