import { describe, expect, it } from "vitest";
import { gaussianBlur } from "../image/boxFilter.ts";
import { type Plane, plane } from "../image/types.ts";
import {
  IDENTITY,
  type Similarity,
  similarityRotation,
  similarityScale,
  warpSimilarity,
} from "../image/warp.ts";
import { mulberry32 } from "../math/stats.ts";
import { Registrar, registerSimilarity, registrationLevel } from "./similarity.ts";

const W = 200;
const H = 160;

/** Blurred random noise plus a few smooth shapes: texture at several scales, deterministic. */
function texturedScene(seed: number): Plane {
  const rnd = mulberry32(seed);
  const noise = Float32Array.from({ length: W * H }, () => rnd());
  const fine = gaussianBlur(noise, W, H, 1.5);
  const coarse = gaussianBlur(
    Float32Array.from({ length: W * H }, () => rnd()),
    W,
    H,
    5,
  );
  const blobs = Array.from({ length: 6 }, () => ({
    x: W * rnd(),
    y: H * rnd(),
    r: 10 + 25 * rnd(),
    v: rnd() - 0.5,
  }));
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0.3 + 0.6 * (fine[y * W + x]! - 0.5) + 2 * (coarse[y * W + x]! - 0.5);
      for (const b of blobs) {
        const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
        v += 0.25 * b.v * Math.exp(-d2);
      }
      out[y * W + x] = v;
    }
  }
  return plane(W, H, out);
}

/** The inverse of a similarity about the same centre: x = c + M⁻¹(x' − c − t). */
function inverse(t: Similarity): Similarity {
  const m = 1 + t.a;
  const det = m * m + t.b * t.b;
  // M⁻¹ = [[m, b], [−b, m]] / det, so 1 + a' = m / det and b' = −b / det.
  const ia = m / det;
  const ib = -t.b / det;
  return {
    a: ia - 1,
    b: ib,
    tx: -(ia * t.tx - ib * t.ty),
    ty: -(ib * t.tx + ia * t.ty),
  };
}

/**
 * The moving frame as the camera would see it: `warpSimilarity(src, T⁻¹)` samples the scene
 * at T⁻¹(x), so moving(T(x)) = reference(x), i.e. T maps reference pixels to moving pixels.
 * Then exposure drift (gain, bias) and a little extra defocus.
 */
function movingFrame(ref: Plane, t: Similarity, gain: number, bias: number, blur: number): Plane {
  const warped = warpSimilarity(ref.data, W, H, 1, inverse(t));
  const blurred = gaussianBlur(warped, W, H, blur);
  for (let i = 0; i < blurred.length; i++) blurred[i] = gain * blurred[i]! + bias;
  return plane(W, H, blurred);
}

function finite(...v: number[]): boolean {
  return v.every(Number.isFinite);
}

describe("inverse (test helper)", () => {
  it("undoes the transform", () => {
    const t = { a: 0.03, b: 0.01, tx: 4.5, ty: -3.2 };
    const probe = Float32Array.from(
      { length: W * H },
      (_, i) => (i % W) * 0.01 + Math.floor(i / W) * 0.02,
    );
    const there = warpSimilarity(probe, W, H, 1, t);
    const back = warpSimilarity(there, W, H, 1, inverse(t));
    // Away from the borders the round trip reproduces the (linear) ramp.
    for (const [x, y] of [
      [100, 80],
      [60, 50],
      [140, 110],
    ] as const)
      expect(back[y * W + x]).toBeCloseTo(probe[y * W + x]!, 4);
  });
});

describe("registerSimilarity", () => {
  const ref = texturedScene(42);

  it("recovers a known zoom and shift under gain, bias and blur changes", () => {
    const truth = { a: 0.03, b: 0, tx: 4.5, ty: -3.2 };
    const mov = movingFrame(ref, truth, 1.15, -0.04, 1.2);
    const r = registerSimilarity(ref, mov);
    expect(r.trusted).toBe(true);
    expect(r.reason).toBeUndefined();
    expect(similarityScale(r.transform)).toBeCloseTo(1.03, 2);
    expect(Math.abs(similarityScale(r.transform) - 1.03)).toBeLessThan(0.003);
    expect(Math.abs(similarityRotation(r.transform))).toBeLessThan(0.002);
    expect(Math.abs(r.transform.tx - truth.tx)).toBeLessThan(0.3);
    expect(Math.abs(r.transform.ty - truth.ty)).toBeLessThan(0.3);
    expect(r.ncc).toBeGreaterThan(r.nccIdentity);
    expect(r.ncc).toBeGreaterThan(0.95);
    expect(r.residual).toBeGreaterThanOrEqual(0);
    expect(finite(r.ncc, r.nccIdentity, r.residual)).toBe(true);
  });

  it("recovers a small rotation and a shrink (the other direction of breathing)", () => {
    const th = 0.01; // about 0.6°
    const s = 0.975;
    const truth = { a: s * Math.cos(th) - 1, b: s * Math.sin(th), tx: -2.3, ty: 1.7 };
    const mov = movingFrame(ref, truth, 0.9, 0.05, 0.8);
    const reg = new Registrar(ref);
    const r = reg.register(mov);
    expect(r.trusted).toBe(true);
    expect(Math.abs(similarityScale(r.transform) - s)).toBeLessThan(0.003);
    expect(Math.abs(similarityRotation(r.transform) - th)).toBeLessThan(0.002);
    expect(Math.abs(r.transform.tx - truth.tx)).toBeLessThan(0.3);
    expect(Math.abs(r.transform.ty - truth.ty)).toBeLessThan(0.3);
    expect(r.ncc).toBeGreaterThan(r.nccIdentity);
  });

  it("keeps identity for an already aligned frame", () => {
    const r = registerSimilarity(
      ref,
      plane(
        W,
        H,
        Float32Array.from(ref.data, (v) => 2 * v + 0.1),
      ),
    );
    expect(r.trusted).toBe(true);
    expect(Math.abs(r.transform.a)).toBeLessThan(1e-3);
    expect(Math.abs(r.transform.b)).toBeLessThan(1e-3);
    expect(Math.abs(r.transform.tx)).toBeLessThan(0.05);
    expect(Math.abs(r.transform.ty)).toBeLessThan(0.05);
    expect(r.nccIdentity).toBeGreaterThan(0.999);
  });

  it("falls back cleanly on an unrelated image", () => {
    const rndA = mulberry32(1);
    const rndB = mulberry32(2);
    const a = plane(
      W,
      H,
      Float32Array.from({ length: W * H }, () => rndA()),
    );
    const b = plane(
      W,
      H,
      Float32Array.from({ length: W * H }, () => rndB()),
    );
    for (const [ref2, mov2] of [
      [a, b],
      [ref, texturedScene(7)],
    ] as const) {
      const r = registerSimilarity(ref2, mov2);
      const t = r.transform;
      expect(finite(t.a, t.b, t.tx, t.ty, r.ncc, r.nccIdentity, r.residual)).toBe(true);
      expect(r.ncc).toBeGreaterThanOrEqual(-1);
      expect(r.ncc).toBeLessThanOrEqual(1);
      if (!r.trusted) {
        expect(t).toEqual(IDENTITY);
        expect(r.reason).toMatch(/\S/);
        expect(r.ncc).toBe(r.nccIdentity);
      } else {
        // Trusted means it at least did not match worse than leaving the frame alone, within
        // plausible bounds.
        expect(r.ncc).toBeGreaterThanOrEqual(r.nccIdentity - 0.002);
        expect(Math.abs(similarityScale(t) - 1)).toBeLessThanOrEqual(0.15);
        expect(Math.hypot(t.tx, t.ty)).toBeLessThanOrEqual(0.15 * W);
      }
    }
  });

  it("distrusts an implausible zoom", () => {
    const truth = { a: 0.1, b: 0, tx: 0, ty: 0 };
    const mov = movingFrame(ref, truth, 1, 0, 0.5);
    const r = registerSimilarity(ref, mov, { maxScaleChange: 0.05 });
    expect(r.trusted).toBe(false);
    expect(r.reason).toMatch(/implausible zoom 1\.1/);
    expect(r.transform).toEqual(IDENTITY);
  });

  it("refuses frames of another size", () => {
    expect(() => registerSimilarity(ref, plane(W - 2, H, new Float32Array((W - 2) * H)))).toThrow(
      RangeError,
    );
  });
});

describe("registration estimated on a coarse level, applied at work size", () => {
  // A work-size frame (800×600): registration estimates on a level of at most 300 px.
  const [w, h] = [800, 600];
  const rnd = mulberry32(9);
  const scene = plane(
    w,
    h,
    Float32Array.from(
      gaussianBlur(
        Float32Array.from({ length: w * h }, () => rnd()),
        w,
        h,
        2,
      ),
      (v) => 0.5 + 3 * (v - 0.5),
    ),
  );
  /** Largest displacement error (work px) of `t` against `truth` over the frame's corners. */
  const cornerError = (t: Similarity, truth: Similarity) => {
    const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
    const map = (s: Similarity, x: number, y: number) => [
      cx + (1 + s.a) * (x - cx) - s.b * (y - cy) + s.tx,
      cy + s.b * (x - cx) + (1 + s.a) * (y - cy) + s.ty,
    ];
    let worst = 0;
    for (const [x, y] of [
      [0, 0],
      [w - 1, 0],
      [0, h - 1],
      [w - 1, h - 1],
    ] as const) {
      const [ax, ay] = map(t, x, y);
      const [bx, by] = map(truth, x, y);
      worst = Math.max(worst, Math.hypot(ax! - bx!, ay! - by!));
    }
    return worst;
  };

  it("does not grow the error on a known zoom and shift, and equals the work-size registrar", () => {
    const truth = { a: 0.02, b: 0.004, tx: 7.3, ty: -4.6 };
    const moved = warpSimilarity(scene.data, w, h, 1, inverse(truth));
    const mov = plane(w, h, gaussianBlur(moved, w, h, 1));
    const ref = registrationLevel(scene);
    expect(ref.factor).toBe(4);
    expect([ref.level.width, ref.level.height]).toEqual([200, 150]);
    const coarse = new Registrar(ref.level, {}, ref.factor).register(registrationLevel(mov).level);
    const fine = new Registrar(scene, { maxSide: w }).register(mov);
    expect(coarse.trusted && fine.trusted).toBe(true);
    const eCoarse = cornerError(coarse.transform, truth);
    const eFine = cornerError(fine.transform, truth);
    expect(eCoarse).toBeLessThan(0.3);
    expect(eCoarse).toBeLessThanOrEqual(eFine + 0.1);
    // The registrar given the work-size plane works on the same level: the same numbers.
    expect(new Registrar(scene).register(mov).transform).toEqual(coarse.transform);
  });
});
