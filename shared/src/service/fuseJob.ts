import { z } from "zod";
import { CaptureSchema, STAGES } from "../capture/schema.ts";

/** What `POST /v1/fuse` can send back, by part name. */
export const OUTPUTS = ["result", "depth", "confidence", "preview", "depth_png", "aif"] as const;
export type OutputName = (typeof OUTPUTS)[number];

export const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const FuseOptionsSchema = z.object({
  stage: z.enum(STAGES).default("full"),
  /** Parts of the answer; `result` (JSON) is always included. */
  outputs: z.array(z.enum(OUTPUTS)).default(["depth", "confidence", "preview"]),
});

const jobBase = {
  jobId: z.string().regex(JOB_ID, "jobId: 1–128 letters, digits, '_' or '-'"),
  capture: CaptureSchema,
  options: FuseOptionsSchema.default({
    stage: "full",
    outputs: ["depth", "confidence", "preview"],
  }),
};

/** A fuse job whose frames the GPU service fetches (short-lived signed GET URLs). */
export const FuseJobSchema = z
  .object({
    ...jobBase,
    frames: z.array(
      z.object({
        url: z.url({ protocol: /^https?$/, error: "frame url must be http(s)" }),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, "sha256: 64 lower-case hex digits")
          .optional(),
      }),
    ),
  })
  .refine((j) => j.frames.length === j.capture.frames.length, {
    message: "frames: one URL per capture frame, in the same order",
    path: ["frames"],
  });

/** The same job with frames uploaded inline (multipart), for direct use without object storage. */
export const InlineFuseJobSchema = z.object(jobBase);

export type FuseJob = z.infer<typeof FuseJobSchema>;
export type InlineFuseJob = z.infer<typeof InlineFuseJobSchema>;
export type FuseOptions = z.infer<typeof FuseOptionsSchema>;

/**
 * Binary layout of the answer's parts (multipart/form-data): `result` JSON (result.json);
 * `depth` little-endian float32 metres, row-major, width × height from `result`; `confidence`
 * uint8 (255 = sure); `preview`, `aif` PNG; `depth_png` 16-bit PNG of millimetres.
 */
export const OUTPUT_CONTENT_TYPES: Record<OutputName, string> = {
  result: "application/json",
  depth: "application/octet-stream",
  confidence: "application/octet-stream",
  preview: "image/png",
  depth_png: "image/png",
  aif: "image/png",
};
