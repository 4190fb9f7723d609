/**
 * HybridDepth client SDK: runtime-neutral (fetch and Web APIs, plus tus-js-client), for
 * browsers, React Native and Node 20+. See README.md beside this file.
 */

export {
  clampFocusDistance,
  depthOfFieldDiopters,
  type FocusCapability,
  type FocusSweepPlan,
  focusRangeProblem,
  type PlanOptions,
  planFocusSweep,
  type SweepOptics,
} from "./camera/focusSweep.ts";
export { type SettleOptions, type SettleOutcome, waitForLensSettle } from "./camera/lensSettle.ts";
export { occupiedRange, type SharpnessSample } from "./camera/rangeFinder.ts";
export { frameSharpness, lumaFromRgba, tileSharpness } from "./camera/sharpness.ts";
export { CaptureHandle, DEFAULT_POLL_INTERVAL_MS, type WaitOptions } from "./capture.ts";
export {
  DEFAULT_TUS_THRESHOLD_BYTES,
  HybridDepthClient,
  type HybridDepthClientOptions,
} from "./client.ts";
export {
  type CanvasDownscaleOptions,
  canvasDownscaler,
  DOWNSCALE_JPEG_QUALITY,
  type DownscaledFrame,
  downscaleFrame,
  type FrameDownscaler,
} from "./downscale.ts";
export {
  type ApiErrorCode,
  CaptureFailedError,
  type CaptureFailureCode,
  HybridDepthApiError,
  isAbortError,
  isApiError,
  NetworkError,
} from "./errors.ts";
export {
  DEFAULT_UPLOAD_CONCURRENCY,
  type FuseOptions,
  type FuseOutcome,
  type FuseProgress,
} from "./fuse.ts";
export {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDecision,
} from "./retry.ts";
export type {
  CaptureMetadata,
  CaptureState,
  CaptureStatus,
  DepthFormat,
  DepthMap,
  FinalizeResult,
  FrameBody,
  FrameContentType,
  PipelineResult,
  UploadedFrame,
  UploadOptions,
  UploadProgress,
  UploadTarget,
} from "./types.ts";
export { downscaleFrames } from "./upload/downscaleFrames.ts";
