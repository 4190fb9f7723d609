import { decodeFloat32LE } from "./depth.ts";
import { CaptureFailedError, type CaptureFailureCode, HybridDepthApiError } from "./errors.ts";
import { newIdempotencyKey } from "./idempotencyKey.ts";
import { sleep } from "./retry.ts";
import type { Transport } from "./transport.ts";
import type {
  CaptureStatus,
  DepthFormat,
  DepthMap,
  FinalizeResult,
  FrameBody,
  PipelineResult,
  UploadedFrame,
  UploadOptions,
  UploadTarget,
} from "./types.ts";
import { frameBytes } from "./upload/frameSource.ts";
import { putFrame } from "./upload/put.ts";
import { tusUpload } from "./upload/tus.ts";

/** What a capture handle needs from its client. */
export interface CaptureContext {
  transport: Transport;
  tusThresholdBytes: number;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Told each status polled, the last one included. */
  onProgress?: (status: CaptureStatus) => void;
  /** Between polls (default 1000 ms); 429/503 answers back off beyond it (Retry-After). */
  pollIntervalMs?: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 1000;

type BinaryFormat = Exclude<DepthFormat, "f32" | "json">;

/**
 * One capture on the server: upload its frames, finalize, wait, read the depth. Made by
 * `client.createCapture` (with signed upload URLs) or `client.capture(id)` (reattach; frames
 * then go through tus, which needs no URL).
 */
export class CaptureHandle {
  readonly id: string;
  /** Signed upload URLs by frame index; empty for a reattached capture. */
  readonly uploads: readonly UploadTarget[];
  readonly tusEndpoint: string;
  /** tus upload URLs of interrupted uploads, so a second `uploadFrame` resumes them. */
  private readonly tusUrls = new Map<number, string>();

  constructor(
    private readonly ctx: CaptureContext,
    init: { id: string; uploads?: readonly UploadTarget[]; tusEndpoint?: string },
  ) {
    this.id = init.id;
    this.uploads = init.uploads ?? [];
    this.tusEndpoint = init.tusEndpoint ?? ctx.transport.url("/v1/tus");
  }

  private path(suffix = ""): string {
    return `/v1/captures/${encodeURIComponent(this.id)}${suffix}`;
  }

  /**
   * Uploads frame `index`: through its signed URL when smaller than `tusThresholdBytes`, else
   * (or without a URL) through tus, resumable. Retries passing failures (see `RetryPolicy`).
   */
  async uploadFrame(
    index: number,
    body: FrameBody,
    opts: UploadOptions = {},
  ): Promise<UploadedFrame> {
    const bytes = frameBytes(body);
    const target = this.uploads.find((u) => u.index === index);
    const via = opts.via ?? (target && bytes < this.ctx.tusThresholdBytes ? "put" : "tus");
    const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
    const signal = opts.signal ? { signal: opts.signal } : {};
    if (via === "put") {
      if (!target)
        throw new RangeError(
          `capture ${this.id} has no signed upload URL for frame ${index}: upload it through tus`,
        );
      const stored = await putFrame(this.ctx.transport, target, body, { ...progress, ...signal });
      return { index, bytes: stored.bytes, via, sha256: stored.sha256 };
    }
    const resumeUrl = opts.resumeUrl ?? this.tusUrls.get(index);
    await tusUpload({
      endpoint: this.tusEndpoint,
      captureId: this.id,
      index,
      body,
      authorization: () => this.ctx.transport.authorization(),
      retry: this.ctx.transport.options.retry,
      ...(resumeUrl ? { resumeUrl } : {}),
      onUploadUrl: (url) => {
        this.tusUrls.set(index, url);
        opts.onUploadUrl?.(url);
      },
      ...progress,
      ...signal,
    });
    this.tusUrls.delete(index);
    return { index, bytes, via };
  }

  /**
   * Closes the upload and queues the job, or answers `done` with `cacheHit` at once when the
   * same capture was computed before. Sends an Idempotency-Key (a fresh one unless given), so
   * its retries are safe.
   */
  async finalize(
    opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<FinalizeResult> {
    const answer = await this.ctx.transport.json<
      Partial<FinalizeResult> & { state: FinalizeResult["state"] }
    >(this.path("/finalize"), {
      method: "POST",
      headers: { "idempotency-key": opts.idempotencyKey ?? newIdempotencyKey() },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (answer.address !== undefined && answer.cacheHit !== undefined)
      return {
        id: this.id,
        state: answer.state,
        cacheHit: answer.cacheHit,
        address: answer.address,
      };
    // A repeat finalize answers only the state: the rest is in the status.
    const s = await this.status(opts.signal ? { signal: opts.signal } : {});
    return { id: this.id, state: s.state, cacheHit: s.cacheHit ?? false, address: s.address ?? "" };
  }

  status(opts: { signal?: AbortSignal } = {}): Promise<CaptureStatus> {
    return this.ctx.transport.json<CaptureStatus>(
      this.path(),
      opts.signal ? { signal: opts.signal } : {},
    );
  }

  /**
   * Polls the status until the capture is `done` (returns that status) or `failed` (throws
   * `CaptureFailedError` with the server's code and message). The signal aborts the wait.
   */
  async waitForDepth(opts: WaitOptions = {}): Promise<CaptureStatus> {
    const interval = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const signal = opts.signal ? { signal: opts.signal } : {};
    for (;;) {
      const s = await this.status(signal);
      opts.onProgress?.(s);
      if (s.state === "done") return s;
      if (s.state === "failed")
        throw new CaptureFailedError(
          this.id,
          (s.error?.code ?? "internal") as CaptureFailureCode,
          s.error?.message ?? "the capture failed",
        );
      await sleep(interval, opts.signal);
    }
  }

  /**
   * The result in one format: `f32` (default) → metres as a Float32Array with width and height
   * (from `json`); `json` → result.json; `npy`, `png16`, `preview`, `confidence` → the bytes.
   */
  getDepth(format?: "f32", opts?: { signal?: AbortSignal }): Promise<DepthMap>;
  getDepth(format: "json", opts?: { signal?: AbortSignal }): Promise<PipelineResult>;
  getDepth(format: BinaryFormat, opts?: { signal?: AbortSignal }): Promise<Uint8Array>;
  async getDepth(
    format: DepthFormat = "f32",
    opts: { signal?: AbortSignal } = {},
  ): Promise<DepthMap | PipelineResult | Uint8Array> {
    const signal = opts.signal ? { signal: opts.signal } : {};
    const url = (f: DepthFormat) => this.path(`/depth?format=${f}`);
    if (format === "json") return this.ctx.transport.json<PipelineResult>(url("json"), signal);
    if (format !== "f32")
      return this.ctx.transport.request(
        url(format),
        signal,
        async (res) => new Uint8Array(await res.arrayBuffer()),
      );
    const result = await this.ctx.transport.json<PipelineResult>(url("json"), signal);
    const data = await this.ctx.transport.request(url("f32"), signal, async (res) =>
      decodeFloat32LE(await res.arrayBuffer()),
    );
    if (data.length !== result.width * result.height)
      throw new HybridDepthApiError(
        200,
        "unexpected_response",
        `f32 depth holds ${data.length} values, not ${result.width}×${result.height}`,
      );
    return { width: result.width, height: result.height, data, result };
  }

  /** Removes the capture, its frames and its result. A retry that finds it gone succeeds. */
  async delete(opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.ctx.transport.request(
      this.path(),
      {
        method: "DELETE",
        accept: (res, attempt) => res.status === 404 && attempt > 1,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      async (res) => {
        await res.body?.cancel();
      },
    );
  }
}
