import { fitLensGridRows, type LensFitGrid, type LensFitPlan } from "../dff/lensCurve.ts";

/**
 * The per-pixel stages that split into row bands, by name: pure functions over rows [y0, y1)
 * of plain data (typed arrays, numbers), so a band can run on any thread. Every band writes
 * only its own rows and reads nothing another band writes, so any split gives the same bits.
 */
export const ROW_KERNELS = {
  /** DFF lens-curve fit of fit-grid rows (`fitLensGridRows`). */
  lensFit(a: { plan: LensFitPlan; focus: readonly Float32Array[]; grid: LensFitGrid }, y0, y1) {
    fitLensGridRows(a.plan, a.focus, a.grid, y0, y1);
  },
} satisfies Record<string, (args: never, y0: number, y1: number) => void>;

export type RowKernel = keyof typeof ROW_KERNELS;
export type RowKernelArgs<K extends RowKernel> = Parameters<(typeof ROW_KERNELS)[K]>[0];

/** Runs row-band work here or on other threads. */
export interface BandRunner {
  /** Bands run at once at most (1: here, one after another). */
  readonly threads: number;
  /** Runs `kernel` over rows [0, rows) in bands; resolves once every band is done. */
  rows<K extends RowKernel>(kernel: K, args: RowKernelArgs<K>, rows: number): Promise<void>;
  /** A plane the bands' threads can all read and write (plain memory when they are this one). */
  alloc(length: number): Float32Array;
}

/** [y0, y1) of `count` bands of nearly equal height covering [0, rows). */
export function splitRows(rows: number, count: number): [number, number][] {
  const k = Math.max(1, Math.min(count, rows));
  return Array.from({ length: k }, (_, b) => [
    Math.floor((b * rows) / k),
    Math.floor(((b + 1) * rows) / k),
  ]);
}

/** Bands run here, one after another: `bands` of them (more than 1 only to test the split). */
export function inlineBands(bands = 1): BandRunner {
  return {
    threads: 1,
    async rows(kernel, args, rows) {
      const run = ROW_KERNELS[kernel] as (a: typeof args, y0: number, y1: number) => void;
      for (const [y0, y1] of splitRows(rows, bands)) run(args, y0, y1);
    },
    alloc: (length) => new Float32Array(length),
  };
}
