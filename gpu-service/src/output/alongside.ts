/**
 * Runs `body` while `tasks` (already started: images compressing on sharp's threads) run
 * alongside it. Each task is observed from the start, since one may fail while `body` awaits
 * another, and none is left running once `body` has returned or thrown.
 */
export async function alongside<T, R>(
  tasks: Record<string, Promise<T>>,
  body: () => Promise<R>,
): Promise<R> {
  for (const task of Object.values(tasks)) task.catch(() => {});
  try {
    return await body();
  } finally {
    await Promise.allSettled(Object.values(tasks));
  }
}
