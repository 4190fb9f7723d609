import { describe, expect, it } from "vitest";
import { HybridDepthError } from "../errors.ts";
import { assertFinite } from "./finite.ts";

describe("assertFinite", () => {
  it("passes finite values", () => {
    expect(() => assertFinite("depth", new Float32Array([0.5, 1, 1000]))).not.toThrow();
  });

  it("refuses ±Infinity and NaN, counting them and naming the first", () => {
    for (const v of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
      const values = new Float32Array([1, 2, v, 3, v]);
      let err: unknown;
      try {
        assertFinite("depth", values);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HybridDepthError);
      expect((err as HybridDepthError).code).toBe("depth_not_finite");
      expect((err as HybridDepthError).message).toBe(
        `depth: 2 of 5 values are not finite (first at index 2, ${v})`,
      );
    }
  });

  it("catches a float32 overflow of a finite double (1e39 m)", () => {
    expect(() => assertFinite("depth", new Float32Array([1e39]))).toThrow(/not finite/);
  });
});
