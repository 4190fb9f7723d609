import { type BandRunner, inlineBands, runSteps, splitRows } from "#shared/pipeline/rowBands.ts";
import { framePool } from "./framePool.ts";
import { defaultThreads } from "./threads.ts";

/** Bands per thread: uneven bands (textured rows fit slower) still keep every thread busy. */
const BANDS_PER_THREAD = 2;

/**
 * Row bands on the process's frame pool (the same threads as the per-frame work, first come,
 * first served), planes in SharedArrayBuffers that every thread reads and writes in place;
 * one thread runs them here.
 */
export function bandRunner(threads = defaultThreads()): BandRunner {
  if (threads <= 1) return inlineBands();
  const pool = framePool(threads);
  const alloc = (length: number) => new Float32Array(new SharedArrayBuffer(4 * length));
  const runner: BandRunner = {
    threads,
    async rows(kernel, args, rows) {
      assertShared(args);
      const bands = splitRows(rows, BANDS_PER_THREAD * threads);
      await Promise.all(bands.map(([y0, y1]) => pool.runRows({ kernel, args, y0, y1 })));
    },
    steps: (steps) => runSteps(steps, runner.rows),
    alloc,
    share(plane) {
      if (plane.buffer instanceof SharedArrayBuffer) return plane;
      const Kind = plane.constructor as new (b: SharedArrayBuffer) => typeof plane;
      const copy = new Kind(new SharedArrayBuffer(plane.byteLength));
      copy.set(plane);
      return copy;
    },
  };
  return runner;
}

/**
 * Throws if a plane (a Float32Array, Int32Array, Uint8Array or Uint16Array, to two levels into
 * `args`) would be copied to the threads:
 * what a band writes there would be lost, and a large one read is a copy per band. Float64
 * tables (a fit's constants) are small and read-only, and are copied.
 */
function assertShared(value: unknown, depth = 0): void {
  if (
    value instanceof Float32Array ||
    value instanceof Int32Array ||
    value instanceof Uint8Array ||
    value instanceof Uint16Array
  ) {
    if (!(value.buffer instanceof SharedArrayBuffer))
      throw new Error("row-band planes must be in shared memory (BandRunner.alloc or share)");
    return;
  }
  if (depth > 2 || value === null || typeof value !== "object") return;
  for (const v of Object.values(value)) assertShared(v, depth + 1);
}
