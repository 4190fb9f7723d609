import { describe, expect, it } from "vitest";
import { occupiedRange, type SharpnessSample } from "./rangeFinder.ts";

const CAP = { min: 0.25, max: 4 };
const STEP = (4 - 0.25) / 8;
// Nine preview frames uniform in diopters, 0.25 D … 4 D.
const diopters = Array.from({ length: 9 }, (_, k) => 0.25 + STEP * k);

/** 20 tiles: 8 in focus at diopter index 1, 8 at index 2, 4 textureless. */
function sweep(): SharpnessSample[] {
  return diopters.map((D, k) => {
    const tiles = new Float32Array(20);
    for (let t = 0; t < 20; t++) {
      const peak = t < 8 ? 1 : t < 16 ? 2 : -1;
      tiles[t] = peak < 0 ? 5 : 5 + 100 * Math.exp(-((k - peak) ** 2));
    }
    return { distance: 1 / D, tiles };
  });
}

describe("occupiedRange", () => {
  it("spans the tiles' in-focus distances, widened by half a preview step", () => {
    const r = occupiedRange(sweep(), CAP)!;
    // Peaks at diopters[1] = 0.71875 D and diopters[2] = 1.1875 D; half a step (0.234 D) beyond each.
    expect(r.far).toBeCloseTo(1 / (diopters[1]! - STEP / 2), 12);
    expect(r.far).toBeCloseTo(2.0645, 4);
    expect(r.near).toBeCloseTo(1 / (diopters[2]! + STEP / 2), 12);
    expect(r.near).toBeCloseTo(0.7033, 4);
  });

  it("gives up on a textureless scene", () => {
    const flat = sweep().map((s) => ({ ...s, tiles: new Float32Array(20).fill(5) }));
    expect(occupiedRange(flat, CAP)).toBeUndefined();
  });

  it("refuses a sweep too short to find a peak", () => {
    expect(() => occupiedRange(sweep().slice(0, 2), CAP)).toThrow(/at least 3/);
  });
});
