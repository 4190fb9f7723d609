import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { alignPrior } from "./fuse.ts";
import {
  BORDER_BAND_FRACTION,
  clampBorderBands,
  clampHotSpots,
  suppressPriorArtefacts,
} from "./priorArtefacts.ts";

const W = 160;
const H = 120;
const M = Math.round(H * BORDER_BAND_FRACTION); // 3 rows

/** A smooth prior (a floor receding to a wall: inverse depth rising towards the bottom). */
function smoothPrior(): Float32Array {
  return Float32Array.from({ length: W * H }, (_, i) => 0.5 + (Math.floor(i / W) / H) * 0.4);
}

describe("clampBorderBands", () => {
  it("cuts a far band along the top edge back to the range just inside it", () => {
    const data = smoothPrior();
    const clean = data.slice();
    for (let y = 0; y < M; y++) for (let x = 0; x < W; x++) data[y * W + x]! *= 0.7;
    clampBorderBands({ width: W, height: H, data });
    const innerMin = Math.min(...clean.subarray(M * W, 2 * M * W));
    for (let y = 0; y < M; y++)
      for (let x = 0; x < W; x++) expect(data[y * W + x]).toBeCloseTo(innerMin, 6);
  });

  it("leaves structure that runs out of the image alone", () => {
    // A vertical gradient (the floor) and a near object touching the left and bottom edges.
    const data = smoothPrior();
    for (let y = 60; y < H; y++) for (let x = 0; x < 40; x++) data[y * W + x] = 1.5;
    const before = data.slice();
    clampBorderBands({ width: W, height: H, data });
    // Only the monotone ramp's outermost rows move, and by less than the ramp over the band.
    let worst = 0;
    for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(data[i]! - before[i]!));
    expect(worst).toBeLessThanOrEqual((0.4 / H) * M + 1e-6);
    for (let y = 60; y < H; y++) expect(data[y * W + 0]).toBe(1.5);
  });
});

describe("clampHotSpots", () => {
  it("pulls a hot spot hundreds of times the prior's range back to near its edge", () => {
    const rnd = mulberry32(3);
    const data = Float32Array.from({ length: W * H }, () => 0.04 + 0.05 * rnd());
    data[5 * W + 50] = 36;
    const before = data.slice();
    clampHotSpots(data);
    // The 99.9th percentile (≈ 0.09) plus a quarter of the range's width (≈ 0.0125).
    expect(data[5 * W + 50]).toBeLessThan(0.103);
    expect(data[5 * W + 50]).toBeGreaterThan(0.089);
    let moved = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== before[i]) moved++;
    expect(moved).toBe(1);
  });
});

describe("alignPrior with prior artefacts", () => {
  it("does not turn the prior's top band into a far band of depth", () => {
    // The scene: inverse depth = prior (s = 1, t = 0), DFF confident except at the border,
    // as registration leaves it. The prior adds a far band (pydnet-pp's) on the top rows.
    const prior = smoothPrior();
    const truth = Float32Array.from(prior, (p) => 1 / p);
    const confidence = new Float32Array(W * H);
    for (let y = 2 * M; y < H - 2 * M; y++)
      for (let x = 2 * M; x < W - 2 * M; x++) confidence[y * W + x] = 0.8;
    const banded = prior.slice();
    for (let y = 0; y < M; y++) for (let x = 0; x < W; x++) banded[y * W + x]! *= 0.5;
    const input = {
      dffDepth: truth,
      confidence,
      priorInverse: banded,
      guide: { width: W, height: H, data: new Float32Array(W * H).fill(0.5) },
      range: { min: 0.1, max: 10 },
    };
    const { depth } = alignPrior(input);
    for (let x = 0; x < W; x++) expect(depth![x]! / truth[x]!).toBeLessThan(1.05);
    expect(input.priorInverse).toEqual(banded); // the caller's prior is not changed
    const clean = suppressPriorArtefacts({ width: W, height: H, data: prior });
    for (let i = 0; i < prior.length; i++)
      expect(Math.abs(clean[i]! - prior[i]!)).toBeLessThanOrEqual((0.4 / H) * M + 1e-6);
  });
});
