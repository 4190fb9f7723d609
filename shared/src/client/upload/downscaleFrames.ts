import type { FrameDownscaler } from "../downscale.ts";
import type { CaptureMetadata, FrameBody } from "../types.ts";

/**
 * The capture as it will be uploaded: each frame through the downscaler, one at a time (a
 * decoded 12 MP frame is ~50 MB of a phone's memory), and the metadata declaring the bytes and
 * content type actually sent. A frame the downscaler cannot read goes up as it is: the server
 * then names what is wrong with it.
 */
export async function downscaleFrames(
  meta: CaptureMetadata,
  frames: readonly FrameBody[],
  downscaler: FrameDownscaler,
): Promise<{ meta: CaptureMetadata; frames: FrameBody[] }> {
  const out: FrameBody[] = [];
  const described = [];
  for (const [i, f] of meta.frames.entries()) {
    const body = frames[i]!;
    const small = await downscaler(body, f.contentType).catch(() => undefined);
    if (!small || small.body === body) {
      out.push(body);
      described.push(f);
      continue;
    }
    out.push(small.body);
    const bytes = small.body instanceof Uint8Array ? small.body.byteLength : small.body.size;
    described.push({ ...f, bytes, contentType: small.contentType });
  }
  return { meta: { ...meta, frames: described }, frames: out };
}
