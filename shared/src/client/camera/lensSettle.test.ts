import { describe, expect, it } from "vitest";
import { waitForLensSettle } from "./lensSettle.ts";
import { frameSharpness, lumaFromRgba, tileSharpness } from "./sharpness.ts";

/** A camera at 30 fps whose sharpness follows `curve` frame by frame (then stays at its end). */
function camera(curve: number[]) {
  let t = 0;
  let frame = -1;
  return {
    nextFrame: async () => {
      frame++;
      t += 33;
    },
    measure: () => curve[Math.min(frame, curve.length - 1)]!,
    now: () => t,
  };
}

describe("waitForLensSettle", () => {
  it("does not take a still frame before the lens moved for settled", async () => {
    // 5 frames unchanged (the lens has not started), a move, then rest.
    const curve = [10, 10, 10, 10, 10, 14, 19, 23, 24, 24, 24, 24];
    const out = await waitForLensSettle({ ...camera(curve), minWaitMs: 250 });
    expect(out.settled).toBe(true);
    // 250 ms is 8 frames; the move ends at frame 9 (23 → 24 is still 4 %); frames 10–12 are steady.
    expect(out.frames).toBe(12);
  });

  it("gives up at the timeout on a camera that never settles", async () => {
    const flicker = Array.from({ length: 200 }, (_, i) => (i % 2 ? 10 : 20));
    const out = await waitForLensSettle({ ...camera(flicker), timeoutMs: 1000 });
    expect(out.settled).toBe(false);
    expect(out.waitedMs).toBeGreaterThanOrEqual(1000);
    expect(out.waitedMs).toBeLessThan(1100);
  });
});

describe("sharpness", () => {
  it("measures the squared Laplacian per tile: zero on flat, 4²·… on a point", () => {
    const w = 8;
    const h = 4;
    const rgba = new Uint8ClampedArray(4 * w * h).fill(100);
    // One bright pixel at (5, 2): the right half's tile.
    for (let c = 0; c < 3; c++) rgba[4 * (2 * w + 5) + c] = 110;
    const luma = lumaFromRgba(rgba, w, h);
    expect(luma[0]).toBeCloseTo(100, 4);
    const tiles = tileSharpness(luma, w, h, 2, 1);
    expect(tiles[0]).toBeCloseTo(0, 6);
    // Interior pixels of the right tile: x 4..6, y 1..2 = 6; Laplacian 40 at the point, −10 at
    // its 4 neighbours inside the interior (x 4, 6 and y 1 of column 5; y 3 is border).
    const expected = (40 ** 2 + 3 * 10 ** 2) / 6;
    expect(tiles[1]).toBeCloseTo(expected, 3);
    expect(frameSharpness(luma, w, h)).toBeGreaterThan(0);
  });
});
