import { describe, expect, it } from "vitest";
import { type ModelSpec, modelInputSize, toRelativeInverseDepth } from "./registry.ts";

const base: ModelSpec["input"] = {
  name: null,
  multiple: 64,
  rounding: "floor",
  mean: null,
  std: null,
};
const spec = (input: Partial<ModelSpec["input"]>): ModelSpec => ({
  name: "m",
  priority: 0,
  file: "m.onnx",
  bytes: null,
  sha256: "0".repeat(64),
  url: null,
  license: "x",
  input: { ...base, ...input },
  output: { name: null, kind: "relative-depth" },
});

describe("modelInputSize", () => {
  it("pydnet-pp: long side 640, sides rounded down to multiples of 64 (its trained 448×640)", () => {
    const s = spec({ longSide: 640 });
    expect(modelInputSize(s, 640, 480)).toEqual({ width: 640, height: 448 });
    expect(modelInputSize(s, 4080, 3072)).toEqual({ width: 640, height: 448 });
    expect(modelInputSize(s, 480, 640)).toEqual({ width: 448, height: 640 });
  });

  it("Depth Anything: short side 518, nearest multiple of 14", () => {
    const s = spec({ multiple: 14, shortSide: 518, rounding: "nearest" });
    expect(modelInputSize(s, 640, 480)).toEqual({ width: 686, height: 518 });
    expect(modelInputSize(s, 518, 518)).toEqual({ width: 518, height: 518 });
  });

  it("never goes below one multiple", () => {
    expect(modelInputSize(spec({ longSide: 640 }), 4000, 20)).toEqual({ width: 640, height: 64 });
  });
});

describe("toRelativeInverseDepth", () => {
  it("inverts relative depth, keeps inverse depth, and never divides by zero", () => {
    expect(Array.from(toRelativeInverseDepth(Float32Array.from([2, 4]), "relative-depth"))).toEqual(
      [0.5, 0.25],
    );
    const keep = Float32Array.from([3, 1]);
    expect(toRelativeInverseDepth(keep, "relative-inverse-depth")).toBe(keep);
    const safe = toRelativeInverseDepth(Float32Array.from([0, -1, 10]), "relative-depth");
    for (const v of safe) expect(Number.isFinite(v)).toBe(true);
    expect(safe[0]).toBeGreaterThan(safe[2]!);
  });
});
