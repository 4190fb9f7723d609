import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { limitFarOutliers, REFINE_PASSES, refineAligned } from "./fuse.ts";
import { refineScaleMap } from "./refineScaleMap.ts";

const RANGE = { min: 0.1, max: 100 };

describe("limitFarOutliers", () => {
  it("pulls a small far blotch back to twice the farthest 1% of the scene", () => {
    const w = 100;
    const depth = new Float32Array(w * w).map((_, i) => 2 + (i % w) / 100); // 2..2.99 m
    for (const y of [10, 11, 12]) for (const x of [11, 12, 13]) depth[y * w + x] = 55;
    limitFarOutliers(depth, RANGE);
    expect(Math.max(...depth)).toBeLessThanOrEqual(2 * 2.99 + 1e-5);
    expect(depth[11 * w + 12]).toBeGreaterThan(2.99); // still the farthest, just bounded
    expect(depth[0]).toBe(2);
  });

  it("leaves a far region that is a real part of the scene alone", () => {
    const w = 100;
    const depth = new Float32Array(w * w).map((_, i) => (i < 2000 ? 30 : 2)); // 20% at 30 m
    const before = depth.slice();
    limitFarOutliers(depth, RANGE);
    expect(depth).toEqual(before);
  });
});

describe("refineAligned", () => {
  it("equals the scale maps of REFINE_PASSES applied one after the other", () => {
    const w = 96;
    const h = 72;
    const n = w * h;
    const rnd = mulberry32(17);
    const guide = Float32Array.from(
      { length: n },
      (_, i) => (i % w < w / 2 ? 0.3 : 0.7) + 0.1 * rnd(),
    );
    const aligned = Float32Array.from({ length: n }, (_, i) => 1 + (i % w) / w + 0.2 * rnd());
    const dffDepth = Float32Array.from(aligned, (v) => v * (0.7 + 0.6 * rnd()));
    const confidence = Float32Array.from({ length: n }, () => (rnd() < 0.3 ? rnd() : 0));
    dffDepth[5] = 0; // no usable focus depth here
    const input = {
      dffDepth,
      confidence,
      priorInverse: new Float32Array(n),
      guide: { width: w, height: h, data: guide },
      range: RANGE,
    };
    // The definition: each pass multiplies the inverse depth by its scale map.
    let inv = Float32Array.from(aligned, (v) => 1 / v);
    const dffInverse = Float32Array.from(dffDepth, (v) => 1 / v);
    for (const pass of REFINE_PASSES) {
      const scale = refineScaleMap(inv, dffInverse, confidence, input.guide, pass);
      inv = inv.map((v, i) => v * scale[i]!);
    }
    const want = inv.map((v) => Math.min(RANGE.max, Math.max(RANGE.min, 1 / v)));
    limitFarOutliers(want, RANGE);
    const got = refineAligned(input, aligned);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! / want[i]! - 1));
    expect(worst).toBeLessThan(1e-5);
    // And it does refine: the depth moved towards depth from focus somewhere.
    let moved = 0;
    for (let i = 0; i < n; i++) if (Math.abs(got[i]! / aligned[i]! - 1) > 0.05) moved++;
    expect(moved).toBeGreaterThan(n / 10);
  });
});
