import { describe, expect, it } from "vitest";
import { framePairs, type ScoredCapture } from "./framePairs.ts";

const cap = (scene: string, camera: string, frames: number, absRel: number): ScoredCapture => ({
  scene,
  camera,
  frames,
  absRel,
});

describe("framePairs", () => {
  it("pairs each scene × camera at the fewest and the most frames, one seed", () => {
    const { few, many, pairs } = framePairs([
      cap("a", "phone", 5, 0.1),
      cap("a", "phone", 10, 0.09),
      cap("a", "large", 5, 0.05),
      cap("a", "large", 10, 0.055),
    ]);
    expect(pairs.map((p) => [p.scene, p.camera, p.seeds, p.worseSeeds])).toEqual([
      ["a", "phone", 1, 0],
      ["a", "large", 1, 1],
    ]);
    expect([few, many]).toEqual([5, 10]);
    expect(pairs[0]!.ratio).toBeCloseTo(0.9, 12);
    expect(pairs[1]!.ratio).toBeCloseTo(1.1, 12);
  });

  it("averages over seeds and counts the seeds whose twin with more frames is worse", () => {
    // Seeds in the same order at both counts: (0.10, 0.11), (0.12, 0.09), (0.11, 0.12).
    const { pairs } = framePairs([
      cap("s", "phone", 4, 0.1),
      cap("s", "phone", 4, 0.12),
      cap("s", "phone", 4, 0.11),
      cap("s", "phone", 7, 0.11),
      cap("s", "phone", 7, 0.09),
      cap("s", "phone", 7, 0.12),
    ]);
    expect(pairs).toHaveLength(1);
    const [p] = pairs;
    expect(p!.fewer).toBeCloseTo(0.11, 12);
    expect(p!.more).toBeCloseTo(0.32 / 3, 12);
    expect(p!.ratio).toBeLessThan(1); // better on average, though worse at 2 of 3 seeds
    expect(p!.worseSeeds).toBe(2);
    expect(p!.seeds).toBe(3);
  });

  it("uses only the extreme counts and leaves out pairs missing a twin", () => {
    const { few, many, pairs } = framePairs([
      cap("a", "phone", 5, 0.1),
      cap("a", "phone", 7, 0.5), // neither the fewest nor the most: not compared
      cap("a", "phone", 10, 0.08),
      cap("b", "phone", 5, 0.1), // no 10-frame capture
      cap("c", "phone", 5, 0.1),
      cap("c", "phone", 10, 0.1),
      cap("c", "phone", 10, 0.1), // a seed more at 10 than at 5
    ]);
    expect([few, many]).toEqual([5, 10]);
    expect(pairs.map((p) => p.scene)).toEqual(["a"]);
    expect(pairs[0]!.ratio).toBeCloseTo(0.8, 12);
  });

  it("has no pairs with a single frame count", () => {
    expect(framePairs([cap("a", "phone", 5, 0.1), cap("b", "phone", 5, 0.2)]).pairs).toEqual([]);
    expect(framePairs([]).pairs).toEqual([]);
  });

  it("counts an equal score as not worse", () => {
    const [p] = framePairs([cap("a", "phone", 5, 0.1), cap("a", "phone", 10, 0.1)]).pairs;
    expect(p!.worseSeeds).toBe(0);
    expect(p!.ratio).toBe(1);
  });
});
