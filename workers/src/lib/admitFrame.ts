import { HybridDepthError } from "#shared/errors.ts";
import { sniffContentType } from "#shared/service/uploadSchema.ts";
import type { WorkerEnv } from "../env.ts";
import { captureStub } from "./captures.ts";

/**
 * A frame's bytes are in R2 at `key` (by signed PUT or tus): its first bytes must be the declared
 * image type, and its capture must still take uploads. Then it is recorded with its digest;
 * otherwise the object is removed and the refusal thrown.
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
  const after = await captureStub(env, frame.captureId).frameStored(frame.index, { sha256, bytes });
  if (after?.state !== "uploading") {
    // Finalized (or deleted) while the bytes streamed: the frame no longer belongs to it.
    await env.BUCKET.delete(frame.key);
    throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
  }
}
