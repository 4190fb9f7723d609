import { describe, expect, it } from "vitest";
import { depthMetrics, topConfidentMask } from "./depthMetrics.ts";

describe("depthMetrics", () => {
  // Pixel 3 has no ground truth (0), pixel 5 has NaN ground truth, pixel 4 has no prediction.
  const gt = Float32Array.of(1, 2, 4, 0, 2, Number.NaN);
  const pred = Float32Array.of(1.1, 2, 2, 5, 0, 1);

  it("scores a hand-computed example", () => {
    const m = depthMetrics(pred, gt);
    // Scored pixels 0, 1, 2: errors 0.1, 0, −2 against 1, 2, 4.
    expect(m.count).toBe(3);
    expect(m.coverage).toBeCloseTo(3 / 4, 12); // 4 pixels have valid ground truth
    expect(m.absRel).toBeCloseTo((0.1 / 1 + 0 + 2 / 4) / 3, 6);
    expect(m.absRel).toBeCloseTo(0.2, 6);
    expect(m.sqRel).toBeCloseTo((0.01 / 1 + 0 + 4 / 4) / 3, 6);
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.01 + 0 + 4) / 3), 6);
    expect(m.rmse).toBeCloseTo(1.156143, 5);
    expect(m.rmseLog).toBeCloseTo(Math.sqrt((Math.log(1.1) ** 2 + Math.log(0.5) ** 2) / 3), 6);
    // max(p/g, g/p) = 1.1, 1, 2: two under 1.25, 1.25² and 1.25³ (2 > 1.953).
    expect(m.d1).toBeCloseTo(2 / 3, 12);
    expect(m.d2).toBeCloseTo(2 / 3, 12);
    expect(m.d3).toBeCloseTo(2 / 3, 12);
  });

  it("thresholds ratios both ways", () => {
    const g = Float32Array.of(1, 1, 1, 1);
    const p = Float32Array.of(1.2, 1 / 1.2, 1.5, 1 / 1.9);
    const m = depthMetrics(p, g);
    expect(m.d1).toBeCloseTo(2 / 4, 12);
    expect(m.d2).toBeCloseTo(3 / 4, 12);
    expect(m.d3).toBeCloseTo(4 / 4, 12);
  });

  it("is perfect for a perfect prediction", () => {
    const m = depthMetrics(Float32Array.of(0.5, 1, 3), Float32Array.of(0.5, 1, 3));
    expect(m.absRel).toBe(0);
    expect(m.rmse).toBe(0);
    expect(m.rmseLog).toBe(0);
    expect(m.d1).toBe(1);
    expect(m.coverage).toBe(1);
  });

  it("counts masked-out pixels against coverage", () => {
    const mask = Uint8Array.of(1, 0, 1, 1, 1, 1);
    const m = depthMetrics(pred, gt, mask);
    expect(m.count).toBe(2); // pixels 0 and 2
    expect(m.coverage).toBeCloseTo(2 / 4, 12);
    expect(m.absRel).toBeCloseTo((0.1 + 0.5) / 2, 6);
    expect(m.d1).toBeCloseTo(1 / 2, 12);
  });

  it("returns NaN errors and zero coverage when nothing can be scored", () => {
    const none = depthMetrics(
      Float32Array.of(0, -1, Number.POSITIVE_INFINITY),
      Float32Array.of(1, 2, 3),
    );
    expect(none.count).toBe(0);
    expect(none.coverage).toBe(0);
    expect(none.absRel).toBeNaN();
    expect(none.rmse).toBeNaN();
    const noGt = depthMetrics(Float32Array.of(1, 2), Float32Array.of(0, Number.POSITIVE_INFINITY));
    expect(noGt.coverage).toBe(0);
    expect(noGt.count).toBe(0);
  });

  it("rejects maps of different sizes", () => {
    expect(() => depthMetrics(new Float32Array(3), new Float32Array(4))).toThrow(RangeError);
  });
});

describe("topConfidentMask", () => {
  const conf = Float32Array.of(0.1, 0.9, 0.5, 0.7, 0.3);

  it("picks the most confident fraction", () => {
    expect(Array.from(topConfidentMask(conf, 0.4))).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(topConfidentMask(conf, 0.6))).toEqual([0, 1, 1, 1, 0]);
    expect(Array.from(topConfidentMask(conf, 1))).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(topConfidentMask(conf, 0))).toEqual([0, 0, 0, 0, 0]);
  });

  it("chooses only among eligible pixels and rounds the count", () => {
    const eligible = Uint8Array.of(1, 0, 1, 1, 1);
    // 4 eligible × 0.4 = 1.6 → 2 pixels: 0.7 (3) and 0.5 (2); 0.9 (1) is not eligible.
    expect(Array.from(topConfidentMask(conf, 0.4, eligible))).toEqual([0, 0, 1, 1, 0]);
    const m = topConfidentMask(conf, 1, eligible);
    expect(Array.from(m)).toEqual([1, 0, 1, 1, 1]);
  });

  it("selects the right count on a larger map", () => {
    const n = 1000;
    const c = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const m = topConfidentMask(c, 0.25);
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (m[i]) {
        count++;
        expect(c[i]).toBeGreaterThanOrEqual(0.75);
      } else expect(c[i]).toBeLessThan(0.75);
    }
    expect(count).toBe(250);
  });
});
