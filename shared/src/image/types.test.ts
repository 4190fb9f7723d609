import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { randomSamples } from "../testing/samples.ts";
import { floatToBytes, sampleUnit, toGray, toGraySamples } from "./types.ts";

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

describe("floatToBytes", () => {
  it("gives the bytes of Math.round on the clamped value, ties and non-finite values included", () => {
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -1e-9, 2];
    for (let k = 0; k <= 255; k++) values.push(k / 255, (k + 0.5) / 255, (k - 0.5) / 255);
    for (let k = 0; k < 5000; k++) values.push(Math.sin(k) * 0.6 + 0.5);
    const data = Float32Array.from(values);
    const want = Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    expect(floatToBytes(data)).toEqual(want);
  });
});
