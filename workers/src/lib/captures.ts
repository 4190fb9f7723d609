import { HybridDepthError } from "#shared/errors.ts";
import type { CaptureRecord } from "../captureObject.ts";
import type { WorkerEnv } from "../env.ts";

/** Capture and tus upload ids are v4 UUIDs (lower-case), checked before they name storage. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The capture's Durable Object; ids are validated first so no path-like id reaches storage. */
export function captureStub(env: WorkerEnv, id: string) {
  if (!UUID_V4.test(id)) throw new HybridDepthError("CAPTURE_NOT_FOUND", "no capture with that id");
  return env.CAPTURES.get(env.CAPTURES.idFromName(id));
}

/** The record, if it exists and belongs to `principal` (others get the same 404). */
export async function ownedCapture(
  env: WorkerEnv,
  id: string,
  principal: string,
): Promise<CaptureRecord> {
  const { record: r, expired } = await captureStub(env, id).lookup();
  if (r?.owner === principal) return r;
  if (!r && expired?.owner === principal)
    throw new HybridDepthError(
      "CAPTURE_EXPIRED",
      `capture expired ${new Date(expired.at).toISOString()} (${expired.reason}); its frames and result are removed`,
    );
  throw new HybridDepthError("CAPTURE_NOT_FOUND", "no capture with that id");
}
