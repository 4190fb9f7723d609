import { availableParallelism } from "node:os";

/** Environment variable that sets the threads a process uses (default: the cores it may use). */
export const THREADS_ENV = "HYBRIDDEPTH_THREADS";

/** HYBRIDDEPTH_THREADS when it is a positive integer, else `os.availableParallelism()`. */
export function defaultThreads(): number {
  const v = Number(process.env[THREADS_ENV]);
  return Number.isInteger(v) && v >= 1 ? v : availableParallelism();
}
