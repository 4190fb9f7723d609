import type { CaptureHandle } from "./capture.ts";
import type { FrameDownscaler } from "./downscale.ts";
import { mapLimit } from "./pool.ts";
import type {
  CaptureMetadata,
  CaptureStatus,
  DepthMap,
  FinalizeResult,
  FrameBody,
} from "./types.ts";
import { downscaleFrames } from "./upload/downscaleFrames.ts";

export const DEFAULT_UPLOAD_CONCURRENCY = 4;

/** Where a `fuse` call is: what a progress bar or a log needs. */
export type FuseProgress =
  | { phase: "created"; captureId: string }
  | {
      phase: "uploading";
      captureId: string;
      framesUploaded: number;
      framesTotal: number;
      bytesSent: number;
      bytesTotal: number;
    }
  | { phase: "finalized"; captureId: string; finalize: FinalizeResult }
  | { phase: "processing"; captureId: string; status: CaptureStatus };

export interface FuseOptions {
  signal?: AbortSignal;
  onProgress?: (progress: FuseProgress) => void;
  /** Frames uploading at once (default 4). */
  concurrency?: number;
  pollIntervalMs?: number;
  idempotencyKey?: string;
  /**
   * Frames are reduced on the device to the pipeline's working size before upload (see
   * `downscale.ts`); `false` sends them as they are. Default: the client's `downscale`.
   */
  downscale?: FrameDownscaler | false;
}

export interface FuseOutcome {
  capture: CaptureHandle;
  finalize: FinalizeResult;
  status: CaptureStatus;
  depth: DepthMap;
}

interface CaptureMaker {
  createCapture(meta: CaptureMetadata, opts?: { signal?: AbortSignal }): Promise<CaptureHandle>;
}

/**
 * The whole round trip for one capture. `frames[i]` is the body of `meta.frames[i]`. On an
 * error the capture stays on the server (its id came with the `created` progress event).
 */
export async function fuse(
  client: CaptureMaker,
  meta: CaptureMetadata,
  frames: readonly FrameBody[],
  opts: FuseOptions = {},
): Promise<FuseOutcome> {
  if (frames.length !== meta.frames.length)
    throw new RangeError(`${frames.length} frame bodies for ${meta.frames.length} frames`);
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (opts.downscale) ({ meta, frames } = await downscaleFrames(meta, frames, opts.downscale));
  const capture = await client.createCapture(meta, signal);
  opts.onProgress?.({ phase: "created", captureId: capture.id });

  const sizes = frames.map((f) => (f instanceof Uint8Array ? f.byteLength : f.size));
  const sent = sizes.map(() => 0);
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  let framesUploaded = 0;
  const report = () =>
    opts.onProgress?.({
      phase: "uploading",
      captureId: capture.id,
      framesUploaded,
      framesTotal: frames.length,
      bytesSent: sent.reduce((a, b) => a + b, 0),
      bytesTotal,
    });
  await mapLimit(
    frames,
    opts.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    async (body, index, taskSignal) => {
      await capture.uploadFrame(index, body, {
        signal: taskSignal,
        onProgress: ({ bytesSent }) => {
          sent[index] = bytesSent;
          report();
        },
      });
      sent[index] = sizes[index]!;
      framesUploaded++;
      report();
    },
    opts.signal,
  );

  const finalize = await capture.finalize({
    ...signal,
    ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
  });
  opts.onProgress?.({ phase: "finalized", captureId: capture.id, finalize });
  const status = await capture.waitForDepth({
    ...signal,
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    onProgress: (s) => opts.onProgress?.({ phase: "processing", captureId: capture.id, status: s }),
  });
  const depth = await capture.getDepth("f32", signal);
  return { capture, finalize, status, depth };
}
