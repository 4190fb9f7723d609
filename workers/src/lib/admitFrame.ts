import { HybridDepthError } from "#shared/errors.ts";
import { sniffContentType } from "#shared/service/uploadSchema.ts";
import type { WorkerEnv } from "../env.ts";
import { captureStub } from "./captures.ts";

/**
 * A frame's bytes are in R2 at `key`, an object of this upload alone (by signed PUT or tus):
 * its first bytes must be the declared image type, and its capture must still take uploads.
 * Then the record switches to it and the frame it replaces is removed; otherwise only this
 * upload's object is removed and the refusal thrown. An accepted frame is never lost to a
 * refused one.
 */
export async function admitFrame(
  env: WorkerEnv,
  frame: { key: string; captureId: string; index: number; contentType: string },
  inspected: { sha256: string; bytes: number; head: Uint8Array },
): Promise<void> {
  if (sniffContentType(inspected.head) !== frame.contentType) {
    await env.BUCKET.delete(frame.key);
    throw new HybridDepthError(
      "CONTENT_TYPE_MISMATCH",
      `body is not ${frame.contentType} (magic bytes)`,
    );
  }
  const { sha256, bytes } = inspected;
  const stored = await captureStub(env, frame.captureId).frameStored(frame.index, {
    sha256,
    bytes,
    key: frame.key,
  });
  if (!stored.accepted) {
    // Finalized (or deleted) while the bytes streamed: the frame no longer belongs to it.
    await env.BUCKET.delete(frame.key);
    throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
  }
  if (stored.replaced) await env.BUCKET.delete(stored.replaced);
}
