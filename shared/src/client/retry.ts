import { abortReason, throwIfAborted } from "./abort.ts";
import { HybridDepthApiError, NetworkError } from "./errors.ts";

/** How hard the SDK retries a request that failed for a passing reason. */
export interface RetryPolicy {
  /** Tries in all, the first one included (1 = never retry). */
  attempts: number;
  /** Delay before the first retry; doubles with each retry. */
  baseDelayMs: number;
  /** Ceiling of the backoff (a server's Retry-After is honoured as sent). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

/**
 * Delay before retry number `retry` (1 = the first retry): exponential, capped at `maxDelayMs`,
 * with "equal jitter" (half fixed, half random) so a crowd of clients spreads out but each one
 * still backs off. Pure: pass `random` to make it deterministic.
 */
export function backoffDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `Retry-After` (delta-seconds or an HTTP date) in milliseconds; undefined when absent or bad. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month (`Wed, 21 Oct 2015 07:28:00 GMT`).
  const at = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Statuses worth another try: timeouts, rate limits and server faults; never other 4xx. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/** Whether an error from one try should be retried, and after how long at least. */
export function retryDecision(err: unknown): { retry: boolean; afterMs?: number } {
  if (err instanceof NetworkError) return { retry: true };
  if (err instanceof HybridDepthApiError && isRetryableStatus(err.status))
    return err.retryAfterMs === undefined
      ? { retry: true }
      : { retry: true, afterMs: err.retryAfterMs };
  return { retry: false };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `op` until it succeeds, fails for good, or `policy.attempts` tries are spent; between
 * tries waits the server's Retry-After when given, else the jittered backoff. The last error is
 * thrown as is (typed); an abort rejects at once with the signal's reason.
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: { signal?: AbortSignal; random?: () => number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(opts.signal);
    try {
      return await op(attempt);
    } catch (err) {
      throwIfAborted(opts.signal);
      const decision = retryDecision(err);
      if (!decision.retry || attempt >= policy.attempts) throw err;
      await sleep(decision.afterMs ?? backoffDelay(attempt, policy, opts.random), opts.signal);
    }
  }
}
