import { z } from "zod";
import { CaptureSchema, STAGES } from "../capture/schema.ts";

import { OUTPUTS } from "./outputs.ts";

/** What `POST /v1/fuse` can send back, by part name: the outputs table (outputs.ts). */
export { OUTPUT_CONTENT_TYPES, OUTPUTS, type OutputName } from "./outputs.ts";

export const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Hex digits of the content address a job id keeps (96 bits: ample to tell a capture's addresses apart). */
const JOB_ID_ADDRESS_CHARS = 24;

/**
 * The job id of one attempt's work: the capture, its generation and its content address. The GPU
 * service runs a job id once (a retry or replay gets the same answer), so a new generation or new
 * content must make a new id, and every redelivery of the same work the same one.
 */
export function fuseJobId(captureId: string, generation: number, address: string): string {
  const id = `${captureId}_g${generation}_${address.slice(0, JOB_ID_ADDRESS_CHARS)}`;
  if (!JOB_ID.test(id)) throw new Error(`not a valid job id: ${JSON.stringify(id)}`);
  return id;
}

/** The capture id a job id made by fuseJobId starts with. */
export function captureIdOfJobId(jobId: string): string {
  return jobId.split("_g")[0]!;
}

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
