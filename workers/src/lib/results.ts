import type { WorkerEnv } from "../env.ts";
import { RESULT_FILES, resultRefKey } from "./r2Keys.ts";

/** Deletes every object under `prefix` (R2 lists in pages). */
export async function deletePrefix(env: WorkerEnv, prefix: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const list = await env.BUCKET.list({ prefix, ...(cursor ? { cursor } : {}) });
    if (list.objects.length) await env.BUCKET.delete(list.objects.map((o) => o.key));
    cursor = list.truncated ? list.cursor : undefined;
  } while (cursor);
}

/** The Cache API entry of one output (keyed by the tenant-scoped prefix, never by address alone). */
export const resultCacheKey = (prefix: string, format: string) =>
  new Request(`https://results.cache/${prefix}${format}`);

export const resultCache = () => (caches as unknown as { default: Cache }).default;

/**
 * `captureId` no longer uses the result under `prefix`: its marker goes, and when no other capture
 * of the tenant uses it the outputs go too, from R2 and from the Cache API.
 */
export async function releaseResult(
  env: WorkerEnv,
  prefix: string,
  captureId: string,
): Promise<void> {
  await env.BUCKET.delete(resultRefKey(prefix, captureId));
  const others = await env.BUCKET.list({ prefix: `${prefix}refs/`, limit: 1 });
  if (others.objects.length) return;
  await deletePrefix(env, prefix);
  const cache = resultCache();
  await Promise.all(Object.keys(RESULT_FILES).map((f) => cache.delete(resultCacheKey(prefix, f))));
}
