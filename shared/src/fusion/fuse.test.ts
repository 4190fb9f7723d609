import { describe, expect, it } from "vitest";
import { limitFarOutliers } from "./fuse.ts";

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
