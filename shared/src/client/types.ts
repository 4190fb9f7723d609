import type { z } from "zod";
import type { PipelineResult } from "../pipeline/result.ts";
import type { ResultFormat } from "../service/outputs.ts";
import type { CreateCaptureSchema, FRAME_CONTENT_TYPES } from "../service/uploadSchema.ts";

/**
 * What `createCapture` takes: the body of `POST /v1/captures` as written by a caller (defaults
 * such as `focusUnit` and `options.stage` may be left out).
 */
export type CaptureMetadata = z.input<typeof CreateCaptureSchema>;

export type FrameContentType = (typeof FRAME_CONTENT_TYPES)[number];

/** A frame's bytes: an in-memory array or a Blob/File (never read whole into memory by tus). */
export type FrameBody = Uint8Array | Blob;

import type { CaptureState } from "../service/captureState.ts";

export type { CaptureState };

/** One frame's signed upload URL, as `POST /v1/captures` hands it out. */
export interface UploadTarget {
  index: number;
  url: string;
  method: "PUT";
  headers: { "content-type": FrameContentType; "content-length": string };
  expiresAt: string;
}

/** `POST /v1/captures` → 201. */
export interface CreatedCapture {
  id: string;
  state: "uploading";
  uploads: UploadTarget[];
  tus: { endpoint: string };
}

/** Result formats of `GET /v1/captures/:id/depth?format=`. */
/** `?format=` values (the outputs table). */
export type DepthFormat = ResultFormat;

/** `GET /v1/captures/:id`. */
export interface CaptureStatus {
  id: string;
  state: CaptureState;
  progress: { framesUploaded: number; framesTotal: number };
  frames: { index: number; uploaded: boolean; bytes?: number; sha256?: string }[];
  /** Content address of frames + metadata + options + pipeline version (after finalize). */
  address?: string;
  cacheHit?: boolean;
  /** URL paths of the outputs, once done. */
  results?: Record<DepthFormat, string>;
  /** GPU jobs tried so far. */
  attempts: number;
  /** Why it failed (state `failed`), or why the last try is being retried (code `retrying`). */
  error?: { code: string; message: string };
  timingsMs?: Record<string, number>;
  /** The capturing device's description, as the capture was created with it. */
  device?: CaptureMetadata["device"];
  createdAt: string;
  updatedAt: string;
}

/** What finalize tells: `done` at once with `cacheHit` when the same capture was computed before. */
export interface FinalizeResult {
  id: string;
  state: CaptureState;
  cacheHit: boolean;
  address: string;
}

/** The depth map in metres, row-major, `width × height`, with the `result.json` it came with. */
export interface DepthMap {
  width: number;
  height: number;
  data: Float32Array;
  result: PipelineResult;
}

export type { PipelineResult };

export interface UploadProgress {
  bytesSent: number;
  bytesTotal: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /**
   * Force the transport: `put` (signed URL; needs the URLs from `createCapture`) or `tus`
   * (resumable, with the client's credentials). Default: by size against `tusThresholdBytes`.
   */
  via?: "put" | "tus";
  /**
   * tus only: the upload URL of an earlier try (e.g. kept in storage across a page reload or
   * an app restart): the upload HEADs it and goes on from the offset the server holds.
   */
  resumeUrl?: string;
  /** tus only: told the upload URL as soon as the server made it, to keep for `resumeUrl`. */
  onUploadUrl?: (url: string) => void;
}

export interface UploadedFrame {
  index: number;
  bytes: number;
  via: "put" | "tus";
  /** The stored frame's sha256 (signed PUT answers with it). */
  sha256?: string;
}
