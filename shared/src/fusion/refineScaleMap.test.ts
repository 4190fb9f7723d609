import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { refineScaleMap } from "./refineScaleMap.ts";

const W = 160;
const H = 120;

/** A scene of two surfaces split at x = W/2 (also an edge in the guide image). */
function scene() {
  const trueInv = new Float32Array(W * H);
  const guide = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const left = x < W / 2;
      trueInv[y * W + x] = left ? 1 / (0.8 + 0.004 * y) : 1 / (2.5 + 0.002 * x);
      guide[y * W + x] = (left ? 0.3 : 0.7) + 0.02 * Math.sin(x / 3) * Math.cos(y / 4);
    }
  }
  return { trueInv, guide: { width: W, height: H, data: guide } };
}

const meanAbsRel = (inv: Float32Array, truth: Float32Array) => {
  let s = 0;
  for (let i = 0; i < inv.length; i++) s += Math.abs(1 / inv[i]! - 1 / truth[i]!) * truth[i]!;
  return s / inv.length;
};

describe("refineScaleMap", () => {
  it("removes a planted scale drift using sparse confident focus evidence", () => {
    const { trueInv, guide } = scene();
    const rnd = mulberry32(5);
    // The aligned prior drifts by up to ±25% across the image (the prior's own error).
    const aligned = Float32Array.from(
      trueInv,
      (v, i) => v * (1 + 0.25 * Math.sin((2 * Math.PI * (i % W)) / W + i / W / 40)),
    );
    // Depth from focus: right (±2%) where confident (25% of pixels), noisy elsewhere.
    const dff = new Float32Array(W * H);
    const conf = new Float32Array(W * H);
    for (let i = 0; i < dff.length; i++) {
      const good = rnd() < 0.25;
      dff[i] = trueInv[i]! * (good ? 1 + 0.02 * (rnd() - 0.5) : 0.5 + rnd());
      conf[i] = good ? 0.8 : 0.02;
    }
    const map = refineScaleMap(aligned, dff, conf, guide, {
      confidencePower: 2,
      priorWeight: 0.05,
    });
    const refined = aligned.map((v, i) => v * map[i]!);
    const before = meanAbsRel(aligned, trueInv);
    const after = meanAbsRel(refined, trueInv);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.35 * before);
  });

  it("returns to the global fit (scale 1) where there is no focus evidence", () => {
    const { trueInv, guide } = scene();
    const map = refineScaleMap(
      trueInv,
      trueInv.map((v) => 2 * v),
      new Float32Array(W * H),
      guide,
    );
    for (const s of map) expect(s).toBeCloseTo(1, 6);
  });

  it("keeps a depth edge where the image has one, instead of blurring it over the window", () => {
    const { trueInv, guide } = scene();
    // Sparse evidence: the left surface is twice as near as the prior says, the right is right.
    const rnd = mulberry32(9);
    const dff = Float32Array.from(trueInv, (v, i) => (i % W < W / 2 ? 2 * v : v));
    const conf = Float32Array.from(trueInv, () => (rnd() < 0.2 ? 0.9 : 0));
    const r = 1 / 8; // a 31-px window: a plain blur would mix both sides 15 px from the edge
    const map = refineScaleMap(trueInv, dff, conf, guide, {
      radiusFraction: r,
      confidencePower: 1,
    });
    const y = H / 2;
    expect(map[y * W + W / 2 - 3]!).toBeGreaterThan(1.8);
    expect(map[y * W + W / 2 + 2]!).toBeLessThan(1.15);
  });
});
