import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { randomSamples } from "../testing/samples.ts";
import { sampleUnit, toGray, toGraySamples } from "./types.ts";

describe("sample images", () => {
  it("read as floats v / max (float32) and give toGray's luma bits", () => {
    const rnd = mulberry32(2);
    for (const wide of [false, true]) {
      const max = wide ? 65535 : 255;
      const data = randomSamples(3 * 20 * 7, wide, rnd);
      const unit = sampleUnit(data);
      expect(unit.length).toBe(max + 1);
      for (const v of [0, 1, 128, max]) expect(unit[v]).toBe(Math.fround(v / max));
      const floats = Float32Array.from(data, (v) => unit[v]!);
      const img = { width: 20, height: 7 };
      expect(toGraySamples({ ...img, data }).data).toEqual(toGray({ ...img, data: floats }).data);
    }
  });
});
