/**
 * The pipeline's working size: one constant and one rule, shared by the server (which resamples
 * frames to it) and the SDK (which downscales on the device before upload), so both land on
 * the same pixels.
 */
import { HybridDepthError } from "../errors.ts";

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
 * Frames longer than this many times their short side are refused: no camera's focal stack is
 * that shape, and past it the work size cap cannot hold (a 63 MP × 1 px strip resampled to
 * 3.2 MP would still need a 1-px short side, hence 14 MP of work).
 */
export const MAX_ASPECT_RATIO = 4;
/** Frames whose short side is under this many pixels are refused: nothing to focus on. */
export const MIN_FRAME_SIDE = 8;

/** Refuses (422 frame_shape_unsupported, with the shape) frames the pipeline cannot use honestly. */
export function checkFrameShape(frame: FrameSize): void {
  const long = Math.max(frame.width, frame.height);
  const short = Math.min(frame.width, frame.height);
  const shape = `${frame.width}×${frame.height}`;
  if (short < MIN_FRAME_SIDE)
    throw new HybridDepthError(
      "FRAME_SHAPE_UNSUPPORTED",
      `frames are ${shape}: the short side must be at least ${MIN_FRAME_SIDE} px`,
    );
  if (long > MAX_ASPECT_RATIO * short)
    throw new HybridDepthError(
      "FRAME_SHAPE_UNSUPPORTED",
      `frames are ${shape}, an aspect ratio of ${(long / short).toFixed(1)}:1; at most ${MAX_ASPECT_RATIO}:1 is supported`,
    );
}

/**
 * The work size for frames of `frame`'s size: the frame itself when it fits `maxPixels`, else
 * the largest exact 1/2, 1/4 or 1/8 of it that fits (a JPEG then decodes straight to it), else
 * the largest size of the frame's aspect ratio that fits.
 */
export function workSize(frame: FrameSize, maxPixels: number = MAX_WORK_PIXELS): WorkSize {
  checkFrameShape(frame);
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
