import { sha256Hex } from "#shared/auth/hmac.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import type { CaptureRecord } from "../captureObject.ts";

/**
 * A result's content address: sha256 over the frames' digests, the metadata that changes the
 * answer (focus, unit, reference, camera, depth range), the options and the pipeline version.
 * Two captures with the same address share one result.
 */
export function contentAddress(r: CaptureRecord): Promise<string> {
  const { meta } = r;
  return sha256Hex(
    JSON.stringify({
      v: PIPELINE_VERSION,
      frames: meta.frames.map((f, i) => [f.focusDistance, r.frames[i]!.sha256]),
      focusUnit: meta.focusUnit,
      reference: meta.reference ?? null,
      camera: meta.camera ?? null,
      depthRange: meta.depthRange ?? null,
      options: meta.options,
    }),
  );
}
