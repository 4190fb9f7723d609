import { describe, expect, it } from "vitest";
import { MAX_WORK_PIXELS, workSize } from "./workSize.ts";

describe("workSize", () => {
  it("takes an exact JPEG DCT scale of a phone frame when it fits the budget", () => {
    expect(workSize({ width: 4080, height: 3072 })).toEqual({
      width: 2040,
      height: 1536,
      shrink: 2,
    });
    // Portrait, and a 48 MP sensor: a quarter per side.
    expect(workSize({ width: 3072, height: 4080 })).toEqual({
      width: 1536,
      height: 2040,
      shrink: 2,
    });
    expect(workSize({ width: 8000, height: 6000 })).toEqual({
      width: 2000,
      height: 1500,
      shrink: 4,
    });
  });

  it("keeps a frame that fits and never upscales", () => {
    expect(workSize({ width: 640, height: 480 })).toEqual({ width: 640, height: 480, shrink: 1 });
    expect(workSize({ width: 2040, height: 1536 })).toEqual({
      width: 2040,
      height: 1536,
      shrink: 1,
    });
  });

  it("resamples when no exact scale exists or it would waste most of the budget", () => {
    // 4081 is odd: no exact half.
    const odd = workSize({ width: 4081, height: 3072 });
    expect(odd.shrink).toBeNull();
    expect(odd.width * odd.height).toBeLessThanOrEqual(MAX_WORK_PIXELS);
    expect(odd.width / odd.height).toBeCloseTo(4081 / 3072, 2);
    // 5 MP: its half is 1.3 MP, well under the 3.2 MP budget.
    expect(workSize({ width: 2592, height: 1944 })).toEqual({
      width: 2065,
      height: 1549,
      shrink: null,
    });
    expect(workSize({ width: 256, height: 192 }, (256 * 192) / 4)).toEqual({
      width: 128,
      height: 96,
      shrink: 2,
    });
  });
});
