/**
 * The pipeline's working size: one constant and one rule, shared by the server (which resamples
 * frames to it) and the SDK (which downscales on the device before upload), so both land on
 * the same pixels.
 */
export interface FrameSize {
  width: number;
  height: number;
}

/** 3.2 MP (e.g. 2040×1536): the phone stack's finest detail at a bounded memory (~0.4 GB). */
export const MAX_WORK_PIXELS = 3_200_000;

/** The reductions libjpeg decodes to directly (DCT scaling): no full-size decode, no resampling. */
export const JPEG_DCT_SHRINKS = [2, 4, 8] as const;
export type DctShrink = 1 | (typeof JPEG_DCT_SHRINKS)[number];

/**
 * A DCT-scaled size is taken when it keeps at least this share of the budget's pixels; below
 * that (e.g. a 5 MP frame, whose half is 1.3 MP) the resolution is worth a resample.
 */
const MIN_DCT_SHARE = 0.5;

/** A work size and, when it is an exact JPEG DCT scale of the frame, that reduction. */
export interface WorkSize extends FrameSize {
  /** Frame side ÷ work side when that is 2, 4 or 8 exactly; 1 when no reduction; else null. */
  shrink: DctShrink | null;
}

/**
 * The work size for frames of `frame`'s size: the frame itself when it fits `maxPixels`, else
 * the largest exact 1/2, 1/4 or 1/8 of it that fits (a JPEG then decodes straight to it), else
 * the largest size of the frame's aspect ratio that fits.
 */
export function workSize(frame: FrameSize, maxPixels: number = MAX_WORK_PIXELS): WorkSize {
  const { width: w, height: h } = frame;
  if (w * h <= maxPixels) return { width: w, height: h, shrink: 1 };
  const f = Math.sqrt(maxPixels / (w * h));
  const resampled = {
    // Rounded down: the budget is a memory bound, so it must hold.
    width: Math.max(1, Math.floor(w * f)),
    height: Math.max(1, Math.floor(h * f)),
  };
  for (const d of JPEG_DCT_SHRINKS) {
    if (w % d !== 0 || h % d !== 0) continue;
    const pixels = (w / d) * (h / d);
    if (pixels > maxPixels) continue;
    if (pixels >= MIN_DCT_SHARE * resampled.width * resampled.height)
      return { width: w / d, height: h / d, shrink: d };
    break;
  }
  return { ...resampled, shrink: null };
}
