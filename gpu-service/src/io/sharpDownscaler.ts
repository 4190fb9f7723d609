import sharp from "sharp";
import type { FrameDownscaler } from "#shared/client/downscale.ts";
import { DOWNSCALE_JPEG_QUALITY } from "#shared/client/downscale.ts";
import { MAX_WORK_PIXELS, workSize } from "#shared/pipeline/workSize.ts";
import { dctShrink, openShrunk } from "./decodeImage.ts";

/**
 * The SDK's on-device downscaling for Node callers (which have no canvas): sharp reduces the
 * frame upright to the pipeline's work size and re-encodes it as a JPEG of the quality the
 * browser path uses.
 */
export function sharpDownscaler(maxPixels = MAX_WORK_PIXELS): FrameDownscaler {
  return async function downscaleWithSharp(frame, contentType) {
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(await frame.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const from = swap
      ? { width: meta.height!, height: meta.width! }
      : { width: meta.width!, height: meta.height! };
    const to = workSize(from, maxPixels);
    if (to.width === from.width && to.height === from.height)
      return { body: frame, contentType, from, to: from };
    // An exact 1/2, 1/4, 1/8 of a JPEG decodes straight to it (as on the server); else Lanczos.
    const shrink = dctShrink(meta, to);
    const { img, done } = await openShrunk(bytes, shrink, {});
    let body: Buffer;
    try {
      let p = img.rotate();
      if (shrink === 1) p = p.resize(to.width, to.height, { fit: "fill", kernel: "lanczos3" });
      body = await p.jpeg({ quality: Math.round(DOWNSCALE_JPEG_QUALITY * 100) }).toBuffer();
    } finally {
      await done();
    }
    return {
      body: new Uint8Array(body),
      contentType: "image/jpeg",
      from,
      to: { width: to.width, height: to.height },
    };
  };
}
