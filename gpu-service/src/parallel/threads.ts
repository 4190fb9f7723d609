import { availableParallelism } from "node:os";
import { HybridDepthError } from "#shared/errors.ts";

/**
 * Environment variable that sets the threads a process uses: its frame pool (per-frame work and
 * row bands, shared by concurrent jobs) and the CPU prior's intra-op threads.
 */
export const THREADS_ENV = "HYBRIDDEPTH_THREADS";

/**
 * HYBRIDDEPTH_THREADS, else `os.availableParallelism()` (the cores this process may use; a
 * container's CPU quota is not among what it sees: set the variable there). A value that is not
 * a positive integer is an error, not a silent default.
 */
export function defaultThreads(): number {
  const env = process.env[THREADS_ENV];
  if (env === undefined || env === "") return availableParallelism();
  const v = Number(env);
  if (!Number.isInteger(v) || v < 1)
    throw new HybridDepthError(
      "INVALID_ARGUMENT",
      `${THREADS_ENV}=${env}: expected a positive whole number of threads`,
    );
  return v;
}
