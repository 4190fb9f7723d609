import { addFrameRows, compositeRows, dffResultRows } from "../dff/accumulator.ts";
import {
  blurResponseRows,
  fitLensGridRows,
  type LensFitGrid,
  type LensFitPlan,
  sampleChiRows,
  upsampleLensFitRows,
} from "../dff/lensCurve.ts";
import { applyAlignmentRows, countUsableRows, takeSampleRows } from "../fusion/alignScaleShift.ts";
import { refineDepthRows, refineEvidenceRows, refinePassRows } from "../fusion/fuse.ts";
import { clampRangeRows } from "../fusion/priorArtefacts.ts";
import { guidedApplyRows, guidedCellRows } from "../fusion/refineScaleMap.ts";
import { resizeBilinearRows } from "../image/resample.ts";
import type { BandSteps } from "./bandSteps.ts";

/**
 * The per-pixel stages that split into row bands, by name: pure functions over rows [y0, y1)
 * of plain data (typed arrays, numbers), so a band can run on any thread. Every band writes
 * only its own rows and reads nothing another band writes, so any split gives the same bits.
 */
export const ROW_KERNELS = {
  /** One frame's update of the DFF running peak and all-in-focus composite. */
  dffAdd: addFrameRows,
  /** The all-in-focus composite's luma and 8-bit samples. */
  dffComposite: compositeRows,
  /** The lens fit's plan (`planLensFit`): a blur response's levels, candidate models' χ². */
  blurResponse: blurResponseRows,
  sampleChi: sampleChiRows,
  /** DFF lens-curve fit of fit-grid rows (`fitLensGridRows`). */
  lensFit(a: { plan: LensFitPlan; focus: readonly Float32Array[]; grid: LensFitGrid }, y0, y1) {
    fitLensGridRows(a.plan, a.focus, a.grid, y0, y1);
  },
  /** The fit grid upsampled to image rows. */
  lensUpsample: upsampleLensFitRows,
  /** Depth and confidence from the upsampled fit. */
  dffResult: dffResultRows,
  /** The prior's output resized to the image's size (`resizeBilinear`). */
  resize: resizeBilinearRows,
  /** Alignment (`alignPrior`): a plane clamped to a range, the fit's samples, the aligned depth. */
  clampRange: clampRangeRows,
  countUsable: countUsableRows,
  takeSamples: takeSampleRows,
  applyAlignment: applyAlignmentRows,
  /** Refinement (`refineAligned`) and its guided filter (`logScaleMap`). */
  refineEvidence: refineEvidenceRows,
  refinePass: refinePassRows,
  refineDepth: refineDepthRows,
  guidedCells: guidedCellRows,
  guidedApply: guidedApplyRows,
} satisfies Record<string, (args: never, y0: number, y1: number) => void>;

export type RowKernel = keyof typeof ROW_KERNELS;
export type RowKernelArgs<K extends RowKernel> = Parameters<(typeof ROW_KERNELS)[K]>[0];

const KERNEL_NAMES = new Map<unknown, RowKernel>(
  Object.entries(ROW_KERNELS).map(([name, f]) => [f, name as RowKernel]),
);

/** Runs row-band work here or on other threads. */
export interface BandRunner {
  /** Bands run at once at most (1: here, one after another). */
  readonly threads: number;
  /** Runs `kernel` over rows [0, rows) in bands; resolves once every band is done. */
  rows<K extends RowKernel>(kernel: K, args: RowKernelArgs<K>, rows: number): Promise<void>;
  /** Runs staged steps (bandSteps.ts), each step's bands through `rows`. */
  steps<T>(steps: BandSteps<T>): Promise<T>;
  /** A plane the bands' threads can all read and write (plain memory when they are this one). */
  alloc(length: number): Float32Array;
  /** `plane` itself when the threads can read it, else a copy in memory they can. */
  share<T extends SharedPlane>(plane: T): T;
}

/** The kinds of plane bands read and write: floats, and a frame's 8- or 16-bit samples. */
export type SharedPlane = Float32Array | Uint8Array | Uint16Array;

/** [y0, y1) of `count` bands of nearly equal height covering [0, rows). */
export function splitRows(rows: number, count: number): [number, number][] {
  const k = Math.max(1, Math.min(count, rows));
  return Array.from({ length: k }, (_, b) => [
    Math.floor((b * rows) / k),
    Math.floor(((b + 1) * rows) / k),
  ]);
}

/** Drives `steps`, each step's bands through `rows` (a step's function must be a ROW_KERNEL). */
export async function runSteps<T>(steps: BandSteps<T>, rows: BandRunner["rows"]): Promise<T> {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    const name = KERNEL_NAMES.get(r.value.run);
    if (!name) throw new Error(`row-band step ${r.value.run.name} is not in ROW_KERNELS`);
    await rows(name, r.value.args as never, r.value.rows);
  }
}

/** Bands run here, one after another: `bands` of them (more than 1 only to test the split). */
export function inlineBands(bands = 1): BandRunner {
  const runner: BandRunner = {
    threads: 1,
    async rows(kernel, args, rows) {
      const run = ROW_KERNELS[kernel] as (a: typeof args, y0: number, y1: number) => void;
      for (const [y0, y1] of splitRows(rows, bands)) run(args, y0, y1);
    },
    steps: (steps) => runSteps(steps, runner.rows),
    alloc: (length) => new Float32Array(length),
    share: (plane) => plane,
  };
  return runner;
}
