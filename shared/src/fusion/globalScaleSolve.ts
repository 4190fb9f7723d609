import type { Plane } from "../image/types.ts";
import { logScaleMap } from "./refineScaleMap.ts";

export interface GlobalSolveOptions {
  /**
   * Side of the coarse cells the solve runs on, as a fraction of the image's short side (the
   * scale map is smooth below it; 4 px at 640×480).
   */
  cellFraction: number;
  /** Smoothness weight λ, in units of one unit-weight evidence pixel per cell. */
  smoothness: number;
  /** Guide (gray, 0..1) step at which a neighbour link's smoothness halves. */
  guideStep: number;
  /** Step of the prior's log depth at which a neighbour link's smoothness halves. */
  priorStep: number;
  /** Weight of "no correction" (log scale 0) in every cell, in the evidence's units. */
  priorWeight: number;
  /** Evidence and result are limited to ±ln(maxFactor). */
  maxFactor: number;
  /** Conjugate-gradient stop: residual below this share of the right-hand side's norm. */
  tolerance: number;
  maxIterations: number;
}

export const DEFAULT_GLOBAL_SOLVE: GlobalSolveOptions = {
  cellFraction: 1 / 120,
  smoothness: 0.5,
  guideStep: 0.04,
  priorStep: 0.05,
  priorWeight: 0.001,
  maxFactor: 3,
  tolerance: 1e-4,
  maxIterations: 400,
};

/** A coarse grid's linear system: data weights, right-hand side, and 4-neighbour links. */
export interface CoarseSystem {
  lw: number;
  lh: number;
  /** Data term per cell (evidence weight + prior weight) and its weighted evidence. */
  data: Float64Array;
  rhs: Float64Array;
  /** Link weight between cell j and its right (x+1) and lower (y+1) neighbour. */
  right: Float64Array;
  down: Float64Array;
}

/**
 * Solves (D + L) x = rhs by preconditioned conjugate gradients, D = diag(`data`) and L the
 * weighted graph Laplacian of the links (symmetric positive definite while every connected part
 * has some data). Jacobi preconditioner: the links vary by orders of magnitude across edges,
 * which the diagonal scaling absorbs. Returns x and the iterations used.
 */
export function solveCoarse(
  sys: CoarseSystem,
  tolerance: number,
  maxIterations: number,
): { x: Float64Array; iterations: number } {
  const { lw, lh, data, rhs, right, down } = sys;
  const n = lw * lh;
  const diag = Float64Array.from(data);
  for (let j = 0; j < n; j++) {
    const x = j % lw;
    if (x + 1 < lw) {
      diag[j] += right[j]!;
      diag[j + 1] += right[j]!;
    }
    if (j + lw < n) {
      diag[j] += down[j]!;
      diag[j + lw] += down[j]!;
    }
  }
  const apply = (v: Float64Array, out: Float64Array) => {
    for (let j = 0; j < n; j++) out[j] = diag[j]! * v[j]!;
    for (let y = 0, j = 0; y < lh; y++) {
      const last = j + lw - 1;
      for (; j < last; j++) {
        const c = right[j]!;
        out[j] -= c * v[j + 1]!;
        out[j + 1] -= c * v[j]!;
      }
      j = last + 1;
    }
    for (let j = 0, end = n - lw; j < end; j++) {
      const c = down[j]!;
      out[j] -= c * v[j + lw]!;
      out[j + lw] -= c * v[j]!;
    }
  };
  const x = new Float64Array(n);
  const r = Float64Array.from(rhs);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  let bNorm = 0;
  for (const v of rhs) bNorm += v * v;
  bNorm = Math.sqrt(bNorm);
  if (bNorm === 0 || lh < 1) return { x, iterations: 0 };
  let rz = 0;
  for (let j = 0; j < n; j++) {
    z[j] = diag[j]! > 0 ? r[j]! / diag[j]! : 0;
    p[j] = z[j]!;
    rz += r[j]! * z[j]!;
  }
  let it = 0;
  for (; it < maxIterations; it++) {
    apply(p, q);
    let pq = 0;
    for (let j = 0; j < n; j++) pq += p[j]! * q[j]!;
    if (!(pq > 0)) break;
    const alpha = rz / pq;
    let rr = 0;
    for (let j = 0; j < n; j++) {
      x[j] += alpha * p[j]!;
      r[j] -= alpha * q[j]!;
      rr += r[j]! * r[j]!;
    }
    if (Math.sqrt(rr) <= tolerance * bNorm) {
      it++;
      break;
    }
    let rzNext = 0;
    for (let j = 0; j < n; j++) {
      z[j] = diag[j]! > 0 ? r[j]! / diag[j]! : 0;
      rzNext += r[j]! * z[j]!;
    }
    const beta = rzNext / rz;
    rz = rzNext;
    for (let j = 0; j < n; j++) p[j] = z[j]! + beta * p[j]!;
  }
  return { x, iterations: it };
}

/**
 * The log scale map as one global edge-aware least-squares solve: minimise
 *   Σ w (x − l)² + μ Σ x² + λ Σ_links s (xᵢ − xⱼ)²
 * on a grid of `cell`-pixel cells, where l = ln(DFF / aligned inverse depth) with weight w
 * (0: no evidence), μ the pull to "no correction", and s = 1 / (1 + (ΔI/guideStep)² +
 * (ΔP/priorStep)²) lets the map change across edges of the reference image I and of the prior's
 * log depth P but not along a surface. Unlike a windowed filter, a textureless region takes the
 * scale of the surface it is connected to however large it is. The coarse solution is brought
 * to full size bilinearly, then by a guided filter on the reference image (radius two cells), so
 * its steps follow the image's edges at pixel resolution.
 */
export function solveLogScaleMap(
  logRatio: Float32Array,
  weight: Float32Array,
  guide: Plane,
  priorLogDepth: Float32Array,
  options: Partial<GlobalSolveOptions> = {},
): { logScale: Float32Array; iterations: number } {
  const o = { ...DEFAULT_GLOBAL_SOLVE, ...options };
  const { width: w, height: h, data: I } = guide;
  const s = Math.max(1, Math.round(Math.min(w, h) * o.cellFraction));
  const lw = Math.ceil(w / s);
  const lh = Math.ceil(h / s);
  const ln = lw * lh;
  const lim = Math.log(o.maxFactor);
  const data = new Float64Array(ln);
  const rhs = new Float64Array(ln);
  const gI = new Float64Array(ln);
  const gP = new Float64Array(ln);
  const count = new Float64Array(ln);
  const colCell = Int32Array.from({ length: w }, (_, x) => Math.floor(x / s));
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / s) * lw;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const j = row + colCell[x]!;
      const c = weight[i]!;
      if (c > 0) {
        data[j] += c;
        rhs[j] += c * Math.max(-lim, Math.min(lim, logRatio[i]!));
      }
      gI[j] += I[i]!;
      gP[j] += priorLogDepth[i]!;
      count[j]++;
    }
  }
  // Per-pixel means, so λ and μ mean the same at any cell size.
  for (let j = 0; j < ln; j++) {
    data[j] = data[j]! / count[j]! + o.priorWeight;
    rhs[j] = rhs[j]! / count[j]!;
    gI[j] = gI[j]! / count[j]!;
    gP[j] = gP[j]! / count[j]!;
  }
  const link = (a: number, b: number) => {
    const di = (gI[a]! - gI[b]!) / o.guideStep;
    const dp = (gP[a]! - gP[b]!) / o.priorStep;
    return o.smoothness / (1 + di * di + dp * dp);
  };
  const right = new Float64Array(ln);
  const down = new Float64Array(ln);
  for (let j = 0; j < ln; j++) {
    if ((j % lw) + 1 < lw) right[j] = link(j, j + 1);
    if (j + lw < ln) down[j] = link(j, j + lw);
  }
  const { x, iterations } = solveCoarse(
    { lw, lh, data, rhs, right, down },
    o.tolerance,
    o.maxIterations,
  );
  // Bilinear at cell centres, then the guided filter (uniform weight, no pull to 0).
  const up = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(lh - 1, Math.max(0, (y + 0.5) / s - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(lh - 1, y0 + 1);
    const ty = fy - y0;
    for (let px = 0, i = y * w; px < w; px++, i++) {
      const fx = Math.min(lw - 1, Math.max(0, (px + 0.5) / s - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(lw - 1, x0 + 1);
      const tx = fx - x0;
      const top = x[y0 * lw + x0]! * (1 - tx) + x[y0 * lw + x1]! * tx;
      const bottom = x[y1 * lw + x0]! * (1 - tx) + x[y1 * lw + x1]! * tx;
      up[i] = top * (1 - ty) + bottom * ty;
    }
  }
  const ones = new Float32Array(w * h).fill(1);
  const logScale = logScaleMap(up, ones, guide, {
    radiusFraction: (2 * s) / Math.max(1, Math.min(w, h)),
    priorWeight: 0,
    maxFactor: o.maxFactor,
  });
  return { logScale, iterations };
}
