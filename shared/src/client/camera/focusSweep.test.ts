import { describe, expect, it } from "vitest";
import {
  clampFocusDistance,
  depthOfFieldDiopters,
  focusRangeProblem,
  planFocusSweep,
} from "./focusSweep.ts";

const PHONE = { min: 0.25, max: 4 };

describe("planFocusSweep", () => {
  it("spans a 0.25–4 m phone range with 16 frames uniform in diopters, near to far", () => {
    const { distances, spacingDiopters } = planFocusSweep({ capability: PHONE });
    expect(spacingDiopters).toBe(0.25);
    expect(distances).toHaveLength(16); // 3.75 D / 0.25 D + 1
    expect(distances[0]).toBe(0.25);
    expect(distances[1]).toBeCloseTo(1 / 3.75, 12);
    expect(distances[15]).toBe(4);
    for (let k = 0; k < 16; k++) expect(1 / distances[k]!).toBeCloseTo(4 - 0.25 * k, 12);
  });

  it("brackets a 1.1–2.6 m working range with the minimum of 5 frames", () => {
    const { distances } = planFocusSweep({ capability: PHONE, working: { near: 1.1, far: 2.6 } });
    const step = (1 / 1.1 - 1 / 2.6) / 4;
    expect(distances).toHaveLength(5);
    expect(distances[0]).toBeCloseTo(1.1, 12);
    expect(distances[2]).toBeCloseTo(1 / (1 / 1.1 - 2 * step), 12);
    expect(distances[2]).toBeCloseTo(1.54595, 4);
    expect(distances[4]).toBeCloseTo(2.6, 12);
  });

  it("clamps a working range beyond the camera to its limits", () => {
    const { distances } = planFocusSweep({ capability: PHONE, working: { near: 0.1, far: 10 } });
    expect(distances[0]).toBe(0.25);
    expect(distances.at(-1)).toBe(4);
  });

  it("snaps to the camera's step and keeps only distinct distances", () => {
    const { distances } = planFocusSweep({ capability: { min: 0.1, max: 1, step: 0.1 } });
    expect(distances.map((d) => Math.round(d * 10) / 10)).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1,
    ]);
    for (const d of distances) expect(d).toBeLessThanOrEqual(1);
  });

  it("spaces frames by the depth of field when the optics are known", () => {
    const optics = { focalLengthMm: 4.38, fNumber: 1.7, sensorWidthMm: 6.17, imageWidthPx: 2048 };
    // 2·c·N/f² with c = 2 px = 2·6.17/2048 mm: 1.0678 D.
    expect(depthOfFieldDiopters(optics)).toBeCloseTo(1.0678, 3);
    const { distances } = planFocusSweep({ capability: PHONE, optics });
    expect(distances).toHaveLength(5); // round(3.75 / 1.0678) + 1
    // A shallower depth of field (longer lens) asks for more frames, up to the maximum.
    const tele = planFocusSweep({ capability: PHONE, optics: { ...optics, focalLengthMm: 9 } });
    expect(tele.distances).toHaveLength(16);
  });

  it("refuses ranges it cannot plan", () => {
    expect(() => planFocusSweep({ capability: { min: 0, max: 4 } })).toThrow(/not a usable/);
    expect(() => planFocusSweep({ capability: { min: 1, max: 1 } })).toThrow(/not a usable/);
    expect(() => planFocusSweep({ capability: PHONE, working: { near: 2, far: 2 } })).toThrow(
      /empty/,
    );
    // Snapped to a coarse step, the two ends meet: nothing to sweep.
    expect(() => planFocusSweep({ capability: { min: 0.2, max: 0.3, step: 1 } })).toThrow(/empty/);
  });
});

describe("clampFocusDistance", () => {
  it("never hands out a value beyond the capability, even by one ulp", () => {
    expect(clampFocusDistance(4.000000000000001, PHONE)).toBe(4);
    expect(clampFocusDistance(0.2, PHONE)).toBe(0.25);
    expect(clampFocusDistance(1, PHONE)).toBe(1);
    const stepped = { min: 0.1, max: 0.7, step: 0.3 };
    expect(clampFocusDistance(0.69, stepped)).toBeCloseTo(0.7, 12);
    expect(clampFocusDistance(0.69, stepped)).toBeLessThanOrEqual(0.7);
  });
});

describe("focusRangeProblem", () => {
  it("accepts a phone range and names the others", () => {
    expect(focusRangeProblem({ min: 0.1, max: 4.2 })).toBeUndefined();
    expect(focusRangeProblem({ min: 10, max: 100 })).toMatch(/not a plausible range in metres/);
    expect(focusRangeProblem({ min: 0, max: 255 })).toMatch(/not a plausible/);
    expect(focusRangeProblem({ min: 0, max: 0 })).toMatch(/cannot move/);
  });
});
