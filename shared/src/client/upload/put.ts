import type { Transport } from "../transport.ts";
import type { FrameBody, UploadProgress, UploadTarget } from "../types.ts";
import { frameBytes } from "./frameSource.ts";

/**
 * One frame to its signed URL (no Authorization: the URL is the credential). The runtime sets
 * Content-Length from the body; Content-Type is the declared one. Retried like any request;
 * an expired URL (403 `url_expired`) is final: the SDK re-creates nothing, the caller decides
 * (upload through tus, which needs no URL, or start a new capture).
 * fetch has no upload progress, so progress is told at the start and at the end.
 */
export async function putFrame(
  transport: Transport,
  target: UploadTarget,
  body: FrameBody,
  opts: { onProgress?: (p: UploadProgress) => void; signal?: AbortSignal } = {},
): Promise<{ index: number; bytes: number; sha256: string }> {
  const total = frameBytes(body);
  opts.onProgress?.({ bytesSent: 0, bytesTotal: total });
  const stored = await transport.request(
    target.url,
    {
      method: target.method,
      auth: false,
      headers: { "content-type": target.headers["content-type"] },
      body: body as RequestInit["body"],
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    async (res) => (await res.json()) as { index: number; bytes: number; sha256: string },
  );
  opts.onProgress?.({ bytesSent: total, bytesTotal: total });
  return stored;
}
