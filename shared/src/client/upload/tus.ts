import { type DetailedError, type HttpRequest, Upload } from "tus-js-client";
import { abortReason } from "../abort.ts";
import { apiErrorFromBody, NetworkError } from "../errors.ts";
import {
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "../retry.ts";
import type { FrameBody, UploadProgress } from "../types.ts";
import { frameBytes, frameReader } from "./frameSource.ts";

export interface TusFrameUpload {
  endpoint: string;
  captureId: string;
  index: number;
  body: FrameBody;
  authorization: () => Promise<string>;
  retry: RetryPolicy;
  /** An upload URL from an earlier, interrupted try: HEAD it and go on from its offset. */
  resumeUrl?: string;
  /** Told the upload URL as soon as the server created it (to resume after an interruption). */
  onUploadUrl?: (url: string) => void;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/** tus codes worth another try besides the retryable statuses: the upload is busy or ahead. */
const TUS_TRANSIENT = new Set(["upload_offset_mismatch", "upload_locked"]);

/**
 * One frame through tus 1.0 with tus-js-client: `captureId`/`frameIndex` metadata, the client's
 * Authorization on every request, the SDK's retry policy (network errors, 408/429/5xx and the
 * upload's own transient 409/423; tus-js-client HEADs the upload and resumes from the offset the
 * server holds). tus-js-client waits a fixed list of delays, so a server's Retry-After longer
 * than the planned delay is waited out before the next request.
 */
export function tusUpload(job: TusFrameUpload): Promise<void> {
  const { retry, signal } = job;
  const total = frameBytes(job.body);
  const delays = Array.from({ length: Math.max(0, retry.attempts - 1) }, (_, i) =>
    backoffDelay(i + 1, retry),
  );
  let extraWaitMs = 0;

  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const upload = new Upload(job.body as Blob, {
      endpoint: job.endpoint,
      uploadUrl: job.resumeUrl ?? null,
      uploadSize: total,
      metadata: { captureId: job.captureId, frameIndex: String(job.index) },
      retryDelays: delays,
      fileReader: frameReader,
      fingerprint: async () => `hybriddepth:${job.captureId}:${job.index}`,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      async onBeforeRequest(req: HttpRequest) {
        if (extraWaitMs > 0) {
          const wait = extraWaitMs;
          extraWaitMs = 0;
          await sleep(wait, signal);
        }
        req.setHeader("Authorization", await job.authorization());
      },
      onShouldRetry(err: DetailedError, attempt: number) {
        const res = err.originalResponse;
        if (!res) return true; // no answer: a network error
        const status = res.getStatus();
        const retryable =
          isRetryableStatus(status) ||
          ((status === 409 || status === 423) &&
            TUS_TRANSIENT.has(apiErrorFromBody(status, res.getBody() ?? "").code));
        if (!retryable) return false;
        const after = parseRetryAfter(res.getHeader("Retry-After"));
        if (after !== undefined) extraWaitMs = Math.max(0, after - (delays[attempt] ?? 0));
        return true;
      },
      onUploadUrlAvailable() {
        if (upload.url) job.onUploadUrl?.(upload.url);
      },
      onProgress(bytesSent: number, bytesTotal: number) {
        job.onProgress?.({ bytesSent, bytesTotal });
      },
      onSuccess() {
        finish(resolve);
      },
      onError(err: Error | DetailedError) {
        finish(() => reject(tusError(err, signal)));
      },
    });
    const onAbort = () => {
      void upload.abort(false);
      finish(() => reject(abortReason(signal!)));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    job.onProgress?.({ bytesSent: 0, bytesTotal: total });
    upload.start();
  });
}

/** tus-js-client's error as the SDK's: the API's error when the server answered, else network. */
function tusError(err: Error | DetailedError, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return abortReason(signal);
  const res = "originalResponse" in err ? err.originalResponse : null;
  if (res) {
    const status = res.getStatus();
    return apiErrorFromBody(
      status,
      res.getBody() ?? "",
      parseRetryAfter(res.getHeader("Retry-After")),
    );
  }
  if ("originalRequest" in err && err.originalRequest)
    return new NetworkError(`tus upload: ${err.message}`, { cause: err });
  return err;
}
