import { describe, expect, it } from "vitest";
import { mulberry32 } from "../math/stats.ts";
import { type CoarseSystem, solveCoarse, solveLogScaleMap } from "./globalScaleSolve.ts";

/** The system's matrix, dense, solved by Gaussian elimination with partial pivoting. */
function denseSolve(sys: CoarseSystem): Float64Array {
  const { lw, lh, data, rhs, right, down } = sys;
  const n = lw * lh;
  const a = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let j = 0; j < n; j++) {
    a[j]![j] += data[j]!;
    a[j]![n] = rhs[j]!;
    const links: [number, number][] = [];
    if ((j % lw) + 1 < lw) links.push([j + 1, right[j]!]);
    if (j + lw < n) links.push([j + lw, down[j]!]);
    for (const [k, c] of links) {
      a[j]![j] += c;
      a[k]![k] += c;
      a[j]![k] -= c;
      a[k]![j] -= c;
    }
  }
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k <= n; k++) a[r]![k] -= f * a[c]![k]!;
    }
  }
  return Float64Array.from({ length: n }, (_, j) => a[j]![n]! / a[j]![j]!);
}

describe("solveCoarse", () => {
  it("matches a dense solve of the same system on random weights", () => {
    const rnd = mulberry32(3);
    const lw = 7;
    const lh = 5;
    const n = lw * lh;
    const sys: CoarseSystem = {
      lw,
      lh,
      // Some cells without evidence (only the small pull to 0), links over orders of magnitude.
      data: Float64Array.from({ length: n }, () => (rnd() < 0.4 ? 0.01 : 0.01 + 5 * rnd())),
      rhs: Float64Array.from({ length: n }, () => rnd() - 0.5),
      right: Float64Array.from({ length: n }, () => 10 ** (3 * rnd() - 2)),
      down: Float64Array.from({ length: n }, () => 10 ** (3 * rnd() - 2)),
    };
    const want = denseSolve(sys);
    const { x, iterations } = solveCoarse(sys, 1e-10, 500);
    expect(iterations).toBeGreaterThan(1);
    for (let j = 0; j < n; j++) expect(x[j]).toBeCloseTo(want[j]!, 6);
  });

  it("returns zero for a zero right-hand side", () => {
    const n = 12;
    const z = new Float64Array(n);
    const sys = { lw: 4, lh: 3, data: z.map(() => 1), rhs: z, right: z, down: z };
    expect(Array.from(solveCoarse(sys, 1e-6, 10).x)).toEqual(Array(n).fill(0));
  });
});

describe("solveLogScaleMap", () => {
  const W = 96;
  const H = 64;

  it("gives a region without evidence the scale of the surface it belongs to, not its neighbour's", () => {
    // Two surfaces split at x = W/2 by a strong edge in the guide. Focus evidence only in the
    // left quarter (log scale +0.3) and the right quarter (−0.2); the middle half is textureless.
    const guide = new Float32Array(W * H);
    const logRatio = new Float32Array(W * H);
    const weight = new Float32Array(W * H);
    const prior = new Float32Array(W * H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        guide[i] = x < W / 2 ? 0.2 : 0.8;
        prior[i] = x < W / 2 ? 0 : 1;
        if (x < W / 4 || x >= (3 * W) / 4) {
          weight[i] = 4;
          logRatio[i] = x < W / 4 ? 0.3 : -0.2;
        }
      }
    const { logScale } = solveLogScaleMap(
      logRatio,
      weight,
      { width: W, height: H, data: guide },
      prior,
      { priorWeight: 1e-4 },
    );
    // Just inside the textureless half, on each side of the edge: the own surface's scale.
    for (const y of [5, H / 2, H - 5]) {
      expect(logScale[y * W + W / 2 - 6]).toBeCloseTo(0.3, 1);
      expect(logScale[y * W + W / 2 + 6]).toBeCloseTo(-0.2, 1);
      expect(logScale[y * W + 4]).toBeCloseTo(0.3, 2);
    }
  });

  it("returns to no correction where nothing links a region to evidence, and clamps", () => {
    const guide = new Float32Array(W * H).fill(0.5);
    const logRatio = new Float32Array(W * H).fill(5);
    const weight = new Float32Array(W * H).fill(10);
    const prior = new Float32Array(W * H);
    const { logScale } = solveLogScaleMap(
      logRatio,
      weight,
      { width: W, height: H, data: guide },
      prior,
      { maxFactor: 2, priorWeight: 0.01 },
    );
    // Uniform evidence beyond the limit: the limit everywhere (weight 10 ≫ pull 0.01).
    for (const v of logScale) expect(v).toBeCloseTo(Math.log(2) * (10 / 10.01), 3);
    const none = solveLogScaleMap(
      logRatio,
      new Float32Array(W * H),
      { width: W, height: H, data: guide },
      prior,
    );
    for (const v of none.logScale) expect(v).toBe(0);
  });
});
