import { describe, expect, it } from "vitest";
import { cocDiameterMm, cocDiameterPx, lensOptics, psfSigmaPx, type ThinLens } from "./thinLens.ts";

const LENS: ThinLens = { focalLengthMm: 25, fNumber: 2, sensorWidthMm: 12 };

describe("cocDiameterMm", () => {
  it("is zero at the focus distance", () => {
    for (const s of [0.1, 0.5, 1, 3, 10]) expect(cocDiameterMm(s, s, LENS)).toBe(0);
  });

  it("matches a hand computation", () => {
    // A = 25/2 = 12.5 mm; c = A·f·|d − s| / (d·(s − f)) = 12.5·25·1000 / (2000·975) mm.
    expect(cocDiameterMm(2, 1, LENS)).toBeCloseTo((12.5 * 25 * 1000) / (2000 * 975), 12);
    expect(cocDiameterMm(2, 1, LENS)).toBeCloseTo(0.160256, 6);
    // In front of the focus plane: d = 0.5 m, s = 1 m → 12.5·25·500 / (500·975).
    expect(cocDiameterMm(0.5, 1, LENS)).toBeCloseTo((12.5 * 25 * 500) / (500 * 975), 12);
  });

  it("grows with distance from focus on both sides", () => {
    const s = 1;
    let prev = 0;
    for (const d of [1.1, 1.5, 2, 5, 20, 1000]) {
      const c = cocDiameterMm(d, s, LENS);
      expect(c).toBeGreaterThan(prev);
      prev = c;
    }
    // Far away it approaches A·f/(s − f).
    expect(prev).toBeLessThan((12.5 * 25) / 975);
    expect(prev).toBeCloseTo((12.5 * 25) / 975, 3);
    prev = 0;
    for (const d of [0.9, 0.7, 0.5, 0.3, 0.1]) {
      const c = cocDiameterMm(d, s, LENS);
      expect(c).toBeGreaterThan(prev);
      prev = c;
    }
  });

  it("halves when the f-number doubles", () => {
    const wide = cocDiameterMm(0.4, 1.2, LENS);
    const narrow = cocDiameterMm(0.4, 1.2, { ...LENS, fNumber: 4 });
    expect(narrow).toBeCloseTo(wide / 2, 12);
  });
});

describe("cocDiameterPx and psfSigmaPx", () => {
  it("converts to pixels across the sensor width, linearly in the image width", () => {
    const mm = cocDiameterMm(2, 1, LENS);
    expect(cocDiameterPx(2, 1, LENS, 1200)).toBeCloseTo((mm / 12) * 1200, 10);
    const a = cocDiameterPx(0.3, 2, LENS, 200);
    const b = cocDiameterPx(0.3, 2, LENS, 400);
    const c = cocDiameterPx(0.3, 2, LENS, 1000);
    expect(b).toBeCloseTo(2 * a, 10);
    expect(c).toBeCloseTo(5 * a, 10);
    expect(cocDiameterPx(1, 1, LENS, 4000)).toBe(0);
  });

  it("gives the sigma of a uniform disc of that diameter", () => {
    expect(psfSigmaPx(8)).toBe(2);
    // Check against the disc's second moment numerically: radius R = 5, per-axis variance R²/4.
    const R = 5;
    let s = 0;
    let n = 0;
    for (let y = -R; y <= R; y += 0.05)
      for (let x = -R; x <= R; x += 0.05)
        if (x * x + y * y <= R * R) {
          s += x * x;
          n++;
        }
    expect(Math.sqrt(s / n)).toBeCloseTo(psfSigmaPx(2 * R), 2);
  });
});

describe("lensOptics", () => {
  it("takes the capture's camera only when all three optics are given", () => {
    expect(lensOptics(undefined, 640)).toBeUndefined();
    expect(lensOptics({ fNumber: 2, focalLengthMm: 25 }, 640)).toBeUndefined();
    expect(lensOptics(LENS, 640)).toEqual({ lens: LENS, imageWidthPx: 640 });
  });
});
