import { abortReason, linkedController } from "./abort.ts";

/**
 * Runs `task` over `items` with at most `limit` at a time. On the first failure no new task
 * starts and the running ones are aborted (through the signal each task gets); the first error
 * is thrown once they have all settled.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const { controller, dispose } = linkedController(signal);
  const out = new Array<R>(items.length);
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const worker = async () => {
    while (!firstError && !controller.signal.aborted && next < items.length) {
      const i = next++;
      try {
        out[i] = await task(items[i]!, i, controller.signal);
      } catch (err) {
        firstError ??= { err };
        controller.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    dispose();
  }
  if (firstError) throw firstError.err;
  if (controller.signal.aborted) throw abortReason(controller.signal);
  return out;
}
