import type { WorkerEnv } from "../env.ts";

/** A positive whole number from a [vars] string; unset or malformed falls back to the default. */
function whole(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && /^\d{1,15}$/.test(value) && n > 0 ? n : fallback;
}

const DAY_S = 24 * 60 * 60;

/** How long one call to the GPU service may take, answer included (GPU_TIMEOUT_SECONDS, default 600). */
export function gpuTimeoutMs(env: Pick<WorkerEnv, "GPU_TIMEOUT_SECONDS">): number {
  const s = Number(env.GPU_TIMEOUT_SECONDS);
  return (Number.isFinite(s) && s > 0 ? s : 600) * 1000;
}

/**
 * The edge's storage and liveness bounds (README "Edge limits"), read from the environment with
 * their defaults in one place.
 */
export function captureLimits(env: Partial<WorkerEnv>) {
  return {
    /**
     * No progress on a queued/processing capture this long: its job is sent again. Never shorter
     * than one GPU call and a minute, so a job still computing is not sent twice.
     */
    deadlineMs: Math.max(
      whole(env.CAPTURE_DEADLINE_SECONDS, 900) * 1000,
      gpuTimeoutMs(env) + 60_000,
    ),
    /** Re-sends before the capture fails with processing_deadline_exceeded. */
    redriveAttempts: whole(env.CAPTURE_REDRIVE_ATTEMPTS, 3),
    /** An unfinalized capture, its frames and tus uploads live this long. */
    ttlMs: whole(env.CAPTURE_TTL_SECONDS, DAY_S) * 1000,
    /** A finished capture (done or failed) and its result live this long. */
    retentionMs: whole(env.RESULT_RETENTION_SECONDS, 30 * DAY_S) * 1000,
    maxOpenCaptures: whole(env.MAX_OPEN_CAPTURES_PER_PRINCIPAL, 20),
    maxStoredBytes: whole(env.MAX_STORED_BYTES_PER_PRINCIPAL, 2 * 1024 ** 3),
  };
}
