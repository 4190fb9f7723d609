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
