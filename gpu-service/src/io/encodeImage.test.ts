import { describe, expect, it } from "vitest";
import { floatToBytes } from "./encodeImage.ts";

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
