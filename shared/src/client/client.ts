import { type CaptureContext, CaptureHandle } from "./capture.ts";
import { canvasDownscaler, type FrameDownscaler } from "./downscale.ts";
import { type FuseOptions, type FuseOutcome, fuse } from "./fuse.ts";
import { newIdempotencyKey } from "./idempotencyKey.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import { Transport } from "./transport.ts";
import type { CaptureMetadata, CreatedCapture, FrameBody } from "./types.ts";

/** Frames at least this big go through tus (resumable) rather than one signed PUT. */
export const DEFAULT_TUS_THRESHOLD_BYTES = 8 * 1024 * 1024;

interface CommonOptions {
  /** The API's origin, e.g. `https://depth.example.com`. */
  baseUrl: string;
  /** A fetch to use (default: the global one, looked up at call time). */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  tusThresholdBytes?: number;
  /**
   * `fuse` reduces frames to the pipeline's working size before upload (a 12 MP JPEG to
   * 3 MP): a fraction of the bytes on the uplink, the same depth. Default: on where the
   * runtime has a canvas (browsers; `canvasDownscaler`), off elsewhere; `false` turns it off,
   * a function of your own turns it on anywhere (e.g. a native resampler in React Native).
   */
  downscale?: FrameDownscaler | false;
}

/** Credentials: a static API key, or a token getter asked before each request (JWTs that expire). */
export type HybridDepthClientOptions = CommonOptions &
  ({ apiKey: string; getToken?: never } | { getToken: () => Promise<string>; apiKey?: never });

/**
 * The HybridDepth API from any JavaScript runtime with fetch (browsers, React Native, Node 20+):
 * create a capture, upload its frames (signed PUT or tus), finalize, wait, read the depth.
 */
export class HybridDepthClient {
  private readonly ctx: CaptureContext;
  private readonly downscale: FrameDownscaler | false;

  constructor(options: HybridDepthClientOptions) {
    const { apiKey, getToken } = options;
    if (!apiKey && !getToken) throw new TypeError("HybridDepthClient needs an apiKey or getToken");
    const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!(retry.attempts >= 1)) throw new RangeError("retry.attempts must be at least 1");
    this.ctx = {
      transport: new Transport({
        baseUrl: options.baseUrl,
        authorization: async () => `Bearer ${apiKey ?? (await getToken!())}`,
        fetch: doFetch,
        retry,
      }),
      tusThresholdBytes: options.tusThresholdBytes ?? DEFAULT_TUS_THRESHOLD_BYTES,
    };
    this.downscale = options.downscale ?? canvasDownscaler() ?? false;
  }

  /** `POST /v1/captures`: the server validates (400 `invalid_capture` says what is wrong). */
  async createCapture(
    meta: CaptureMetadata,
    opts: { signal?: AbortSignal; idempotencyKey?: string } = {},
  ): Promise<CaptureHandle> {
    // One key for every retry of this create: a retry after a lost answer gets the same capture.
    const created = await this.ctx.transport.json<CreatedCapture>("/v1/captures", {
      method: "POST",
      json: meta,
      headers: { "idempotency-key": opts.idempotencyKey ?? newIdempotencyKey() },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return new CaptureHandle(this.ctx, {
      id: created.id,
      uploads: created.uploads,
      tusEndpoint: created.tus.endpoint,
    });
  }

  /** Reattaches to an existing capture (e.g. after an app restart); frames then go through tus. */
  capture(id: string): CaptureHandle {
    return new CaptureHandle(this.ctx, { id });
  }

  /** (downscale →) create → upload all frames (4 at a time) → finalize → wait → depth (f32). */
  fuse(
    meta: CaptureMetadata,
    frames: readonly FrameBody[],
    opts: FuseOptions = {},
  ): Promise<FuseOutcome> {
    return fuse(this, meta, frames, { downscale: this.downscale, ...opts });
  }
}
