import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { zeroByMean, zeroNear } from "./zeroNear.ts";

describe("zeroNear", () => {
  const rnd = mulberry32(21);
  const ways = new Set<string>();
  const masks: [string, number, number, (x: number, y: number) => boolean][] = [
    ["a registered frame's border", 64, 48, (x, y) => x < 3 || x > 60 - (y >> 4) || y < 2],
    ["a rotated frame's corner wedge", 50, 40, (x, y) => x + 2 * y < 12 || x - y > 35],
    ["a few pixels", 33, 17, () => rnd() < 0.01],
    ["the last pixel of each row", 20, 9, (x) => x === 19],
    ["scattered (through the mean)", 40, 30, () => rnd() < 0.3],
    ["nothing", 16, 8, () => false],
    ["everything", 16, 8, () => true],
    ["one column", 1, 12, (_, y) => y === 5],
    ["one row", 12, 1, (x) => x === 0],
  ];
  for (const [name, w, h, set] of masks)
    for (const r of [0, 1, 4, 30])
      it(`zeroes where the window mean is above zero: ${name}, radius ${r}`, () => {
        const mask = new Uint8Array(w * h);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = set(x, y) ? 1 : 0;
        const values = Float32Array.from({ length: w * h }, () => 0.5 + rnd());
        const want = values.slice();
        zeroByMean(want, mask, w, h, r);
        const got = values.slice();
        ways.add(zeroNear(got, mask, w, h, r));
        expect(got).toEqual(want);
      });
  it("went both ways above: by runs, and by the mean for a scattered mask", () => {
    expect([...ways].sort()).toEqual(["mean", "runs"]);
  });
});
