import { z } from "zod";
import { CaptureSchema, STAGES } from "../capture/schema.ts";

import { OUTPUTS } from "./outputs.ts";

/** What `POST /v1/fuse` can send back, by part name: the outputs table (outputs.ts). */
export { OUTPUT_CONTENT_TYPES, OUTPUTS, type OutputName } from "./outputs.ts";

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
