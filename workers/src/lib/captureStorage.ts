import type { CaptureRecord } from "../captureObject.ts";
import type { WorkerEnv } from "../env.ts";
import { quotaStub } from "./quota.ts";
import { capturePrefix } from "./r2Keys.ts";
import { deletePrefix, releaseResult } from "./results.ts";

/** A capture whose record is gone, and what it still holds. */
export interface RemovedCapture {
  record: CaptureRecord;
  /** The tus uploads started for its frames (each its own Durable Object and R2 multipart upload). */
  tusUploads: string[];
}

/**
 * Frees what a removed capture held, the one way DELETE, expiry and retention all do: its tus
 * uploads (so they answer 404 and their multipart parts go), its frames, and its use of a result
 * (the tenant's shared result goes only when no other capture references it), then its quota.
 */
export async function releaseCaptureStorage(
  env: WorkerEnv,
  removed: RemovedCapture,
): Promise<void> {
  const { record: r, tusUploads } = removed;
  await Promise.all(
    tusUploads.map((id) => env.UPLOADS.get(env.UPLOADS.idFromName(id)).terminate()),
  );
  await deletePrefix(env, capturePrefix(r.id));
  if (r.resultPrefix) await releaseResult(env, r.resultPrefix, r.id);
  await quotaStub(env, r.owner).release(r.id);
}
