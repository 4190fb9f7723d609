import { ERRORS, type ErrorCode } from "../errors.ts";

/**
 * Codes an API answer can carry: the product's error table, plus `internal` (an unexpected
 * server fault) and `unexpected_response` (an answer that is not the API's JSON error shape,
 * e.g. from a proxy in between).
 */
export type ApiErrorCode = ErrorCode | "internal" | "unexpected_response";

/**
 * Why a capture's processing failed (`status.error.code`): a GPU service refusal from the error
 * table (e.g. `frame_unreadable`), `gpu_unavailable` once the queue gave up retrying, or
 * `gpu_http_<status>` for an answer without a code.
 */
export type CaptureFailureCode = ErrorCode | "internal" | "gpu_unavailable" | `gpu_http_${number}`;

const KNOWN_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ERRORS).map((e) => e.code),
  "internal",
]);

/** The API answered with an error: `{ error: { code, message } }` and an HTTP status. */
export class HybridDepthApiError extends Error {
  override readonly name = "HybridDepthApiError";
  readonly status: number;
  readonly code: ApiErrorCode;
  /** The server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, code: ApiErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The request never got an answer (connection refused or cut, DNS, TLS, offline). */
export class NetworkError extends Error {
  override readonly name = "NetworkError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The capture reached the `failed` state; `code` and `message` are the server's. */
export class CaptureFailedError extends Error {
  override readonly name = "CaptureFailedError";
  readonly captureId: string;
  readonly code: CaptureFailureCode;

  constructor(captureId: string, code: CaptureFailureCode, message: string) {
    super(message);
    this.captureId = captureId;
    this.code = code;
  }
}

/** Narrows an unknown error to an API error, optionally of one code. */
export function isApiError<C extends ApiErrorCode>(
  err: unknown,
  code?: C,
): err is HybridDepthApiError & { code: C } {
  return err instanceof HybridDepthApiError && (code === undefined || err.code === code);
}

/** An abort (the caller's AbortSignal), which the SDK passes through untouched. */
export function isAbortError(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    ((err as { name?: unknown }).name === "AbortError" ||
      (err as { name?: unknown }).name === "TimeoutError")
  );
}

/** Builds the typed error from an API error body (already read as text). */
export function apiErrorFromBody(
  status: number,
  text: string,
  retryAfterMs?: number,
): HybridDepthApiError {
  let code: ApiErrorCode = "unexpected_response";
  let message = `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const c = body?.error?.code;
    if (typeof c === "string" && KNOWN_CODES.has(c)) code = c as ApiErrorCode;
    if (typeof body?.error?.message === "string")
      message = code === "unexpected_response" ? `${c}: ${body.error.message}` : body.error.message;
  } catch {
    // not JSON: keep the generic code and the text
  }
  return new HybridDepthApiError(status, code, message, retryAfterMs);
}
