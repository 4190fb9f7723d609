import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { confidenceOf, noiseFloors } from "#shared/dff/accumulator.ts";
import { defaultWindowRadius, focusMeasure } from "#shared/dff/focusMeasure.ts";
import {
  DEFAULT_FOCUS_NOISE,
  finishLensFit,
  fitLensGridRows,
  type LensFitGrid,
  type LensFitPlan,
  lensFitGrid,
  planLensFit,
} from "#shared/dff/lensCurve.ts";
import { type Plane, plane } from "#shared/image/types.ts";
import { finishLensFitOnGraph, fitLensGridOnGraph } from "./lensFit.ts";
import { maxRelativeError, noise, SAMPLE, sampleGray } from "./testInputs.ts";

/**
 * Float32 χ² against the reference's float64: where two candidates' χ² nearly tie the pick may
 * differ, moving the depth by about a candidate step; everywhere else the depth agrees to 1e-4
 * of the range and the variance to 1e-2 relative (it divides χ²'s second difference).
 */
const POSITION_TOLERANCE = 1e-4;
const VARIANCE_TOLERANCE = 1e-2;
/** At most this share of grid points may differ beyond those (near-tied candidates). */
const NEAR_TIES = 0.01;

function compareGrids(plan: LensFitPlan, got: LensFitGrid, want: LensFitGrid): void {
  const range = plan.hi - plan.lo;
  let off = 0;
  let finite = 0;
  for (let i = 0; i < want.position.length; i++) {
    const wv = want.variance[i]!;
    const gv = got.variance[i]!;
    if (wv < Number.POSITIVE_INFINITY) finite++;
    const posOk = Math.abs(got.position[i]! - want.position[i]!) <= POSITION_TOLERANCE * range;
    const varOk =
      wv === gv || (wv < Number.POSITIVE_INFINITY && Math.abs(gv - wv) <= VARIANCE_TOLERANCE * wv);
    if (!(posOk && varOk)) off++;
  }
  expect(finite).toBeGreaterThan(0.5 * want.position.length);
  expect(off / want.position.length).toBeLessThanOrEqual(NEAR_TIES);
}

/**
 * Depth and confidence from the same grid: float32 bilinear weights and divisions, 1e-5 of the
 * range; the infinite-variance pixels (confidence 0) exactly the reference's.
 */
const FINISH_TOLERANCE = 1e-5;

async function checkFinish(plan: LensFitPlan, grid: LensFitGrid): Promise<void> {
  const fit = finishLensFit(plan, grid);
  const depth = Float32Array.from(fit.position, (p) => 1 / p);
  const confidence = Float32Array.from(fit.position, (p, i) =>
    confidenceOf(fit.variance[i]! / (p * p)),
  );
  const got = await finishLensFitOnGraph(plan, grid);
  expect(got.ranOn).toBe("cpu");
  expect(maxRelativeError(got.depth, depth)).toBeLessThan(FINISH_TOLERANCE);
  expect(maxRelativeError(got.confidence, confidence)).toBeLessThan(FINISH_TOLERANCE);
  let zeros = 0;
  let mismatched = 0;
  for (let i = 0; i < confidence.length; i++) {
    if ((got.confidence[i] === 0) !== (confidence[i] === 0)) mismatched++;
    if (confidence[i] === 0) zeros++;
  }
  expect(mismatched).toBe(0);
  expect(zeros).toBeGreaterThan(0);
}

async function check(focus: Float32Array[], aif: Plane, diopters: number[]): Promise<void> {
  const floors = noiseFloors(focus);
  const plan = planLensFit(
    focus,
    floors,
    Float64Array.from(diopters),
    undefined,
    aif,
    DEFAULT_FOCUS_NOISE,
  );
  const want = lensFitGrid(plan);
  fitLensGridRows(plan, focus, want, 0, plan.gh);
  const got = lensFitGrid(plan);
  expect(await fitLensGridOnGraph(plan, focus, got)).toBe("cpu");
  compareGrids(plan, got, want);
  // In chunks of a few grid rows (uneven: the last is shorter), held to the same bounds (not
  // the same bits: the CPU provider's Conv blocks its sums by the chunk's width).
  const chunked = lensFitGrid(plan);
  await fitLensGridOnGraph(plan, focus, chunked, 3 * plan.gw + 1);
  compareGrids(plan, chunked, want);
  await checkFinish(plan, want);
}

describe("lens-curve fit graph", () => {
  it("matches fitLensGridRows on random focus curves", async () => {
    const [w, h, K] = [121, 97, 7];
    const aif = plane(w, h, noise(w * h, 3));
    // A peak per pixel at a random frame over noise, and flat pixels (no fit) in between.
    const u = noise(w * h, 4);
    const focus = Array.from({ length: K }, (_, k) =>
      Float32Array.from(noise(w * h, 10 + k), (v, i) =>
        u[i]! < 0.2 ? 0.01 * v : 0.01 * v + Math.exp(-(((k - u[i]! * K) / 1.5) ** 2)),
      ),
    );
    await check(
      focus,
      aif,
      Array.from({ length: K }, (_, k) => 0.3 + 0.25 * k),
    );
  });

  it("matches fitLensGridRows on the bundled sample's stack", async () => {
    const capture = JSON.parse(await readFile(join(SAMPLE, "capture.json"), "utf8")) as {
      frames: { file: string; focusDistance: number }[];
    };
    // Ascending diopters: far focus first.
    const frames = [...capture.frames].sort((a, b) => b.focusDistance - a.focusDistance);
    const grays = await Promise.all(frames.map((f) => sampleGray(join(SAMPLE, f.file))));
    const { width: w, height: h } = grays[0]!;
    const r = defaultWindowRadius(w, h);
    await check(
      grays.map((g) => focusMeasure(g, r)),
      grays[2]!,
      frames.map((f) => 1 / f.focusDistance),
    );
  });
});
