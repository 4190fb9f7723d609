import type { ByteBudget, Reservation } from "./byteBudget.ts";
import type { FrameFeed } from "./workerPool.ts";

/** A job's frames as a route has them: fetched from URLs, or already in the request. */
export interface FrameSource {
  readonly count: number;
  fetch(index: number, signal: AbortSignal): Promise<Uint8Array>;
  /** Bytes to hold in the budget while one frame is fetched (its most); 0: already in memory. */
  readonly reserveBytes: number;
}

/**
 * A job's frames under the service-wide byte budget: each download first reserves the most a
 * frame may weigh (waiting while the budget is spent), keeps what it really weighed, and gives
 * it back once the pipeline has decoded the frame or the job is over.
 */
export function budgetedFeed(
  source: FrameSource,
  budget: ByteBudget,
  onChange: () => void = () => undefined,
): FrameFeed {
  const held = new Map<number, Reservation>();
  let closed = false;
  const drop = (index: number) => {
    held.get(index)?.release();
    held.delete(index);
    onChange();
  };
  return {
    count: source.count,
    async fetch(index, signal) {
      if (source.reserveBytes === 0) return source.fetch(index, signal);
      const r = await budget.acquire(source.reserveBytes);
      if (closed || signal.aborted) {
        r.release();
        signal.throwIfAborted();
        throw new Error("job is over");
      }
      held.set(index, r);
      onChange();
      try {
        const bytes = await source.fetch(index, signal);
        r.shrink(bytes.byteLength);
        onChange();
        return bytes;
      } catch (e) {
        drop(index);
        throw e;
      }
    },
    release: drop,
    close() {
      closed = true;
      for (const r of held.values()) r.release();
      held.clear();
      onChange();
    },
  };
}
