import { describe, expect, it } from "vitest";
import { depthSpan, spanPosition } from "./depthSpan.ts";

describe("depthSpan", () => {
  it("spans the 2nd–98th percentile of the valid depth, ignoring outliers and holes", () => {
    const d = Float32Array.from({ length: 1000 }, (_, i) => 1 + i / 999); // 1..2 m
    d[0] = 0; // hole
    d[1] = Number.NaN;
    d[2] = 500; // a far outlier
    const [near, far] = depthSpan(d)!;
    expect(near).toBeCloseTo(1.024, 2);
    expect(far).toBeCloseTo(1.98, 2);
  });

  it("widens a flat scene and is undefined without valid depth", () => {
    expect(depthSpan(new Float32Array(10).fill(2))).toEqual(
      [1.8, 2.2].map((v) => expect.closeTo(v, 6)),
    );
    expect(depthSpan(new Float32Array(10))).toBeUndefined();
  });

  it("places depth on the ramp in inverse depth: near 1, far 0, clamped", () => {
    expect(spanPosition(1, [1, 4])).toBe(1);
    expect(spanPosition(4, [1, 4])).toBe(0);
    expect(spanPosition(2, [1, 4])).toBeCloseTo((0.5 - 0.25) / 0.75, 9);
    expect(spanPosition(10, [1, 4])).toBe(0);
  });
});
