import { type BandRunner, inlineBands, splitRows } from "#shared/pipeline/rowBands.ts";
import { defaultThreads, framePool } from "./framePool.ts";

/** Bands per thread: uneven bands (textured rows fit slower) still keep every thread busy. */
const BANDS_PER_THREAD = 2;
/** Typed arrays larger than this must be in shared memory: a cloned one would be lost work. */
const MAX_CLONED_BYTES = 1 << 16;

/**
 * Row bands on the process's frame pool (the same threads as the per-frame work, first come,
 * first served), planes in SharedArrayBuffers that every thread reads and writes in place;
 * one thread runs them here.
 */
export function bandRunner(threads = defaultThreads()): BandRunner {
  if (threads <= 1) return inlineBands();
  const pool = framePool(threads);
  return {
    threads,
    async rows(kernel, args, rows) {
      assertShared(args);
      const bands = splitRows(rows, BANDS_PER_THREAD * threads);
      await Promise.all(bands.map(([y0, y1]) => pool.runRows({ kernel, args, y0, y1 })));
    },
    alloc: (length) => new Float32Array(new SharedArrayBuffer(4 * length)),
  };
}

/** Throws if a large plane in `args` (to two levels) would be copied to the threads. */
function assertShared(value: unknown, depth = 0): void {
  if (ArrayBuffer.isView(value)) {
    if (!(value.buffer instanceof SharedArrayBuffer) && value.byteLength > MAX_CLONED_BYTES)
      throw new Error("row-band planes must be in shared memory (BandRunner.alloc)");
    return;
  }
  if (depth > 2 || value === null || typeof value !== "object") return;
  for (const v of Object.values(value)) assertShared(v, depth + 1);
}
