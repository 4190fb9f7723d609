import { describe, expect, it } from "vitest";
import { DffAccumulator, type DffResult } from "../dff/accumulator.ts";
import { focusMeasure } from "../dff/focusMeasure.ts";
import { alignScaleShift, applyAlignment } from "../fusion/alignScaleShift.ts";
import {
  alignPrior,
  alignPriorInBands,
  limitFarOutliers,
  refineAligned,
  refineAlignedInBands,
} from "../fusion/fuse.ts";
import { suppressPriorArtefacts } from "../fusion/priorArtefacts.ts";
import { gaussianBlur } from "../image/boxFilter.ts";
import { plane } from "../image/types.ts";
import { mulberry32 } from "../math/stats.ts";
import { inlineBands, splitRows } from "./rowBands.ts";

const W = 150;
const H = 97; // odd, and not a multiple of the fit stride: bands of unequal height

/** A textured scene whose depth ramps across the image, blurred per frame by its defocus. */
function stack(): { diopters: number[]; focus: Float32Array[]; rgb: Float32Array[] } {
  const rnd = mulberry32(5);
  const texture = gaussianBlur(
    Float32Array.from({ length: W * H }, () => rnd()),
    W,
    H,
    0.7,
  );
  const diopters = [0.4, 0.9, 1.5, 2.2, 3];
  const focus: Float32Array[] = [];
  const rgb: Float32Array[] = [];
  for (const f of diopters) {
    const frame = new Float32Array(W * H);
    // Four depth strips, each blurred by 5 px per diopter of defocus.
    for (let s = 0; s < 4; s++) {
      const blurred = gaussianBlur(texture, W, H, 5 * Math.abs(0.5 + 0.8 * s - f));
      for (let y = 0; y < H; y++)
        for (let x = Math.floor((s * W) / 4); x < Math.floor(((s + 1) * W) / 4); x++)
          frame[y * W + x] = blurred[y * W + x]!;
    }
    focus.push(focusMeasure(plane(W, H, frame), 3));
    rgb.push(Float32Array.from({ length: 3 * W * H }, (_, i) => frame[Math.floor(i / 3)]!));
  }
  return { diopters, focus, rgb };
}

function accumulator(s: ReturnType<typeof stack>, alloc?: (n: number) => Float32Array) {
  const acc = new DffAccumulator(W, H, s.diopters, alloc ? { alloc } : {});
  for (let k = 0; k < s.focus.length; k++) acc.add(s.focus[k]!, s.rgb[k]!);
  return acc;
}

// Compared as raw bytes: bit identity, NaN and -0 included (shared/ has no Buffer).
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function expectSame(a: DffResult, b: DffResult): void {
  expect(bits(a.depth.data)).toEqual(bits(b.depth.data));
  expect(bits(a.confidence.data)).toEqual(bits(b.confidence.data));
  expect(a.blur).toEqual(b.blur);
}

describe("row bands", () => {
  it("split [0, rows) into contiguous, nearly equal bands", () => {
    expect(splitRows(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRows(2, 5)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(splitRows(0, 4)).toEqual([[0, 0]]);
  });

  it("give the DFF lens fit the same bits as one pass, for any number of bands", async () => {
    const s = stack();
    const whole = accumulator(s).finish();
    // A blur fitted to the stack, not given: the plan (fitted once) is what every band shares.
    expect(whole.blur.kind).toBe("fitted");
    for (const bands of [1, 2, 3, 7, 17]) {
      const banded = await accumulator(s).finishInBands(inlineBands(bands));
      expectSame(banded, whole);
    }
    // A depth map with structure, not a constant any split would reproduce.
    expect(new Set(whole.depth.data).size).toBeGreaterThan(100);
  });

  it("give the refinement (both guided-filter passes) the same bits as one pass", async () => {
    const s = stack();
    const dff = accumulator(s).finish();
    const rnd = mulberry32(8);
    // An aligned prior off by a smooth, varying factor: the scale map has work to do.
    const aligned = Float32Array.from(
      dff.depth.data,
      (d, i) => d * (1.3 + 0.4 * Math.sin(i / 500)) * (1 + 0.05 * rnd()),
    );
    const guide = plane(W, H, Float32Array.from(s.rgb[2]!.filter((_, i) => i % 3 === 0)));
    const input = {
      dffDepth: dff.depth.data,
      confidence: dff.confidence.data,
      priorInverse: new Float32Array(W * H),
      guide,
      range: { min: 0.1, max: 10 },
    };
    const whole = refineAligned(input, aligned);
    for (const bands of [2, 3, 7]) {
      const banded = await refineAlignedInBands(input, aligned, inlineBands(bands));
      expect(bits(banded), `${bands} bands`).toEqual(bits(whole));
    }
    let changed = 0;
    for (let i = 0; i < whole.length; i++)
      if (Math.abs(whole[i]! / aligned[i]! - 1) > 0.01) changed++;
    expect(changed).toBeGreaterThan(0.25 * whole.length);
  });

  it("give the alignment the same bits as one pass, and as its parts composed plane by plane", async () => {
    const s = stack();
    const dff = accumulator(s).finish();
    const rnd = mulberry32(9);
    // A prior in inverse depth, off by a scale and shift, with hot spots, a far top band, NaN
    // and −0 (which a clamp by Math.max would turn into 0).
    const priorInverse = Float32Array.from(
      dff.depth.data,
      (d) => (0.8 / d + 0.3) * (1 + 0.1 * (rnd() - 0.5)),
    );
    for (let i = 0; i < 3 * W; i++) priorInverse[i] = 0.05;
    for (let i = 17; i < priorInverse.length; i += 997) priorInverse[i] = 50;
    priorInverse[5 * W + 3] = Number.NaN;
    priorInverse[6 * W + 4] = -0;
    const input = {
      dffDepth: dff.depth.data,
      confidence: dff.confidence.data,
      priorInverse,
      guide: plane(W, H, new Float32Array(W * H)),
      range: { min: 0.1, max: 10 },
    };
    // The composition before the alignment ran in bands: a plane per step.
    const cleaned = suppressPriorArtefacts({ width: W, height: H, data: priorInverse });
    const target = Float32Array.from(dff.depth.data, (d) => 1 / d);
    const want = alignScaleShift(cleaned, target, dff.confidence.data);
    expect(want.fallback).toBeUndefined();
    const wantDepth = applyAlignment(cleaned, want, input.range, dff.depth.data);
    limitFarOutliers(wantDepth, input.range);
    const whole = alignPrior(input);
    expect(whole.alignment).toEqual(want);
    expect(bits(whole.depth!)).toEqual(bits(wantDepth));
    for (const bands of [2, 3, 7]) {
      const banded = await alignPriorInBands(input, inlineBands(bands));
      expect(banded.alignment, `${bands} bands`).toEqual(want);
      expect(bits(banded.depth!), `${bands} bands`).toEqual(bits(wantDepth));
    }
  });
});
