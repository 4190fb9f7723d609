/**
 * Every failure the product reports, as data: a stable `code` clients switch on, the HTTP
 * status the servers answer with, and a default message. One table, used by the CLI, the
 * GPU service and the worker alike (tus-node-server style).
 */
export const ERRORS = {
  INVALID_CAPTURE: { status: 400, code: "invalid_capture", message: "Capture metadata is invalid" },
  FRAME_MISSING: {
    status: 400,
    code: "frame_missing",
    message: "A frame listed in the capture is missing",
  },
  FRAME_UNREADABLE: {
    status: 422,
    code: "frame_unreadable",
    message: "A frame is not a readable JPEG or PNG image",
  },
  FRAME_SIZE_MISMATCH: {
    status: 422,
    code: "frame_size_mismatch",
    message: "Frames differ in size",
  },
  FRAME_TOO_LARGE: {
    status: 413,
    code: "frame_too_large",
    message: "A frame has more pixels than allowed",
  },
  CAPTURE_NOT_FOUND: {
    status: 404,
    code: "capture_not_found",
    message: "No capture at that location",
  },
  GROUND_TRUTH_MISSING: {
    status: 400,
    code: "ground_truth_missing",
    message: "The capture has no gt_depth.png to evaluate against",
  },
  MODEL_NOT_FOUND: {
    status: 503,
    code: "model_not_found",
    message: "The requested depth prior model is not available",
  },
  INVALID_ARGUMENT: { status: 400, code: "invalid_argument", message: "An argument is invalid" },
  FRAME_FETCH_FAILED: {
    status: 502,
    code: "frame_fetch_failed",
    message: "A frame could not be fetched from its URL",
  },
  FRAME_FETCH_TIMEOUT: {
    status: 504,
    code: "frame_fetch_timeout",
    message: "Fetching a frame took too long",
  },
  FRAME_DIGEST_MISMATCH: {
    status: 422,
    code: "frame_digest_mismatch",
    message: "A frame's bytes do not match its sha256",
  },
  FRAME_BYTES_TOO_LARGE: {
    status: 413,
    code: "frame_bytes_too_large",
    message: "A frame is larger than allowed",
  },
  FRAME_NOT_FOUND: {
    status: 422,
    code: "frame_not_found",
    message: "A frame URL answered that the frame is not there (404/410)",
  },
  FRAME_URL_REFUSED: {
    status: 422,
    code: "frame_url_refused",
    message: "A frame URL answered a client error (expired, forbidden, or a redirect)",
  },
  FRAME_ORIGIN_REFUSED: {
    status: 422,
    code: "frame_origin_refused",
    message: "A frame URL points outside the origins the service may fetch (FRAME_ORIGINS)",
  },
  FRAME_SHAPE_UNSUPPORTED: {
    status: 422,
    code: "frame_shape_unsupported",
    message: "The frames' aspect ratio or size is outside what the pipeline can use",
  },
  JOB_ID_CONFLICT: {
    status: 409,
    code: "job_id_conflict",
    message: "A different job with this job id is running",
  },
  JOB_IN_PROGRESS: {
    status: 503,
    code: "job_in_progress",
    message: "This job is running in another GPU service process; retry later for its answer",
  },
  JOB_ALREADY_DONE: {
    status: 409,
    code: "job_already_done",
    message: "This job ran already and its answer is no longer kept; send a new job id",
  },
  UNAUTHORIZED: { status: 401, code: "unauthorized", message: "Missing or invalid credentials" },
  OVERLOADED: { status: 503, code: "overloaded", message: "Too many jobs queued; retry later" },
  JOB_TIMEOUT: { status: 504, code: "job_timeout", message: "The job did not finish in time" },
  NOT_READY: { status: 503, code: "not_ready", message: "The service is starting or stopping" },
  NOT_FOUND: { status: 404, code: "not_found", message: "No such route" },
  PAYLOAD_TOO_LARGE: { status: 413, code: "payload_too_large", message: "Request body too large" },
  URL_SIGNATURE_INVALID: {
    status: 403,
    code: "url_signature_invalid",
    message: "The URL's signature is missing or wrong",
  },
  URL_EXPIRED: { status: 403, code: "url_expired", message: "The signed URL has expired" },
  LENGTH_REQUIRED: {
    status: 411,
    code: "length_required",
    message: "Content-Length is required (stream large frames through tus instead)",
  },
  LENGTH_MISMATCH: {
    status: 400,
    code: "length_mismatch",
    message: "The body's length differs from the declared frame size",
  },
  CONTENT_TYPE_MISMATCH: {
    status: 415,
    code: "content_type_mismatch",
    message: "The body is not the declared image type",
  },
  FRAMES_MISSING: {
    status: 409,
    code: "frames_missing",
    message: "Some frames have not been uploaded",
  },
  CAPTURE_NOT_UPLOADING: {
    status: 409,
    code: "capture_not_uploading",
    message: "The capture is finalized: frames can no longer change",
  },
  RESULT_NOT_READY: {
    status: 409,
    code: "result_not_ready",
    message: "The depth is not computed yet",
  },
  RATE_LIMITED: { status: 429, code: "rate_limited", message: "Too many requests" },
  TOO_MANY_OPEN_CAPTURES: {
    status: 429,
    code: "too_many_open_captures",
    message: "Too many unfinalized captures: finalize or delete one first",
  },
  STORAGE_QUOTA_EXCEEDED: {
    status: 413,
    code: "storage_quota_exceeded",
    message: "The captures' declared bytes would exceed this principal's storage quota",
  },
  CAPTURE_EXPIRED: {
    status: 410,
    code: "capture_expired",
    message: "The capture expired: its record, frames and result are removed",
  },
  PROCESSING_DEADLINE_EXCEEDED: {
    status: 504,
    code: "processing_deadline_exceeded",
    message: "The capture made no progress before its deadline, through every re-send",
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    code: "idempotency_key_reused",
    message: "This Idempotency-Key was used for a different request",
  },
  INTERNAL: { status: 500, code: "internal", message: "internal error" },
  DEPTH_NOT_FINITE: {
    status: 422,
    code: "depth_not_finite",
    message: "The pipeline produced a depth that is not finite; nothing is served",
  },
  GPU_UNAVAILABLE: {
    status: 503,
    code: "gpu_unavailable",
    message: "The GPU service stayed unavailable through every retry",
  },
  TUS_VERSION_UNSUPPORTED: {
    status: 412,
    code: "tus_version_unsupported",
    message: "Tus-Resumable: 1.0.0 is required",
  },
  UPLOAD_NOT_FOUND: { status: 404, code: "upload_not_found", message: "No such upload" },
  UPLOAD_EXPIRED: { status: 410, code: "upload_expired", message: "The upload has expired" },
  UPLOAD_OFFSET_MISMATCH: {
    status: 409,
    code: "upload_offset_mismatch",
    message: "Upload-Offset differs from the stored offset; HEAD the upload and resume from there",
  },
  UPLOAD_LOCKED: {
    status: 423,
    code: "upload_locked",
    message: "Another request is writing to this upload; retry shortly",
  },
  UPLOAD_TOO_LARGE: {
    status: 413,
    code: "upload_too_large",
    message: "The body goes beyond the upload's declared length",
  },
} as const;

export type ErrorKind = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorKind]["code"];

/** The one error type the pipeline throws for bad input; servers turn it into `{ error: { code, message } }`. */
export class HybridDepthError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly status: number;

  constructor(kind: ErrorKind, message?: string) {
    super(message ?? ERRORS[kind].message);
    this.name = "HybridDepthError";
    this.kind = kind;
    this.code = ERRORS[kind].code;
    this.status = ERRORS[kind].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
