import { describe, expect, it } from "vitest";
import { colorizeDepth, depthAtBarPosition, turbo } from "./colormap.ts";

const rgbAt = (img: Uint8Array, i: number) => [img[3 * i]!, img[3 * i + 1]!, img[3 * i + 2]!];

describe("turbo", () => {
  it("starts dark and turns blue, ends dark red", () => {
    const [r0, g0, b0] = turbo(0);
    // The polynomial fit starts near black ((35, 23, 27)), then blue dominates the low end.
    expect(Math.max(r0, g0, b0)).toBeLessThan(64);
    expect(b0).toBeGreaterThan(g0);
    const [r1, g1, b1] = turbo(0.1);
    expect(b1).toBeGreaterThan(r1 + 100);
    expect(b1).toBeGreaterThan(g1 + 100);
    const [r, g, b] = turbo(1);
    expect(r).toBeGreaterThan(100);
    expect(r).toBeLessThan(200); // dark red, not bright red
    expect(g).toBeLessThan(30);
    expect(b).toBeLessThan(30);
  });

  it("is green-ish in the middle and yellow-orange towards the top", () => {
    const [r, g, b] = turbo(0.5);
    expect(g).toBeGreaterThan(r);
    expect(g).toBeGreaterThan(b);
    expect(g).toBeGreaterThan(200);
    const [r8, g8, b8] = turbo(0.75);
    expect(r8).toBeGreaterThan(200);
    expect(g8).toBeGreaterThan(b8);
  });

  it("clamps its input and returns bytes", () => {
    expect(turbo(-3)).toEqual(turbo(0));
    expect(turbo(7)).toEqual(turbo(1));
    for (let x = 0; x <= 1; x += 0.01)
      for (const c of turbo(x)) {
        expect(Number.isInteger(c)).toBe(true);
        expect(c).toBeGreaterThanOrEqual(0);
        expect(c).toBeLessThanOrEqual(255);
      }
  });
});

describe("colorizeDepth", () => {
  it("paints near warm, far cool, invalid black", () => {
    const depth = Float32Array.of(0.5, 4, 0, Number.NaN, -1, Number.POSITIVE_INFINITY, 1);
    const img = colorizeDepth(depth, 0.5, 4);
    expect(img).toHaveLength(3 * depth.length);
    expect(rgbAt(img, 0)).toEqual(turbo(1)); // nearest → top of the map
    expect(rgbAt(img, 1)).toEqual(turbo(0)); // farthest → bottom
    for (const i of [2, 3, 4, 5]) expect(rgbAt(img, i)).toEqual([0, 0, 0]);
    const [rn, , bn] = rgbAt(img, 0);
    const [rf, , bf] = rgbAt(img, 1);
    expect(rn - bn).toBeGreaterThan(rf - bf); // redder near
    // Spaced in inverse depth: 1 m is at (1/1 − 1/4) / (1/0.5 − 1/4) = 0.75/1.75 of the bar.
    expect(rgbAt(img, 6)).toEqual(turbo(0.75 / 1.75));
  });

  it("gets redder as depth decreases across the range", () => {
    // Depths at bar positions 0.65 … 0.2 (near to far), spaced in inverse depth.
    const near = 0.3;
    const far = 6;
    const depths = Float32Array.from([0.65, 0.5, 0.35, 0.2], (x) =>
      depthAtBarPosition(x, near, far),
    );
    for (let i = 1; i < depths.length; i++) expect(depths[i]!).toBeGreaterThan(depths[i - 1]!);
    const img = colorizeDepth(depths, near, far);
    // Red minus blue falls from near to far (turbo runs orange → yellow → green → cyan → blue).
    const warmth = Array.from(depths, (_, i) => img[3 * i]! - img[3 * i + 2]!);
    for (let i = 1; i < warmth.length; i++) expect(warmth[i]!).toBeLessThan(warmth[i - 1]!);
    expect(warmth[0]).toBeGreaterThan(150);
    expect(warmth[3]).toBeLessThan(-150);
    // Nearer still, the hue moves on from orange to red: green drops relative to red.
    const top = colorizeDepth(
      Float32Array.of(depthAtBarPosition(0.65, near, far), near),
      near,
      far,
    );
    expect(top[4]! / top[3]!).toBeLessThan(top[1]! / top[0]!);
  });
});

describe("depthAtBarPosition", () => {
  it("maps 0 to far, 1 to near and is the inverse of the colour placement", () => {
    expect(depthAtBarPosition(0, 0.5, 4)).toBeCloseTo(4, 12);
    expect(depthAtBarPosition(1, 0.5, 4)).toBeCloseTo(0.5, 12);
    // Midpoint in diopters: (0.25 + 2) / 2 = 1.125 D.
    expect(depthAtBarPosition(0.5, 0.5, 4)).toBeCloseTo(1 / 1.125, 12);
    for (const d of [0.6, 1, 2, 3.5]) {
      const x = (1 / d - 1 / 4) / (1 / 0.5 - 1 / 4);
      expect(depthAtBarPosition(x, 0.5, 4)).toBeCloseTo(d, 10);
    }
  });
});
