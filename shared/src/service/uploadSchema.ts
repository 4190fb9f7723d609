import { z } from "zod";
import { CaptureSchema, FrameSchema } from "../capture/schema.ts";
import { FuseOptionsSchema } from "./fuseJob.ts";

/** Frame content types the edge accepts (sniffed from magic bytes too). */
export const FRAME_CONTENT_TYPES = ["image/jpeg", "image/png"] as const;
/** Largest frame the edge takes through a signed PUT (bigger frames go through tus). */
export const MAX_SIGNED_PUT_BYTES = 100 * 1024 * 1024;
/** Largest frame at all. */
export const MAX_FRAME_BYTES = 128 * 1024 * 1024;

export const UploadFrameSchema = FrameSchema.extend({
  bytes: z
    .number()
    .int("bytes must be an integer")
    .positive("bytes must be > 0")
    .max(MAX_FRAME_BYTES, `bytes must be at most ${MAX_FRAME_BYTES}`),
  contentType: z.enum(FRAME_CONTENT_TYPES, {
    error: 'contentType must be "image/jpeg" or "image/png"',
  }),
});

/**
 * `POST /v1/captures`: the capture metadata of DESIGN.md with, per frame, its byte size and
 * content type, plus the pipeline options the result will be computed with.
 */
export const CreateCaptureSchema = CaptureSchema.safeExtend({
  frames: z
    .array(UploadFrameSchema)
    .min(2, "a capture needs at least 2 frames")
    .max(64, "a capture has at most 64 frames"),
  options: FuseOptionsSchema.pick({ stage: true }).default({ stage: "full" }),
});

export type CreateCapture = z.infer<typeof CreateCaptureSchema>;

/** The first bytes of each accepted format. */
export function sniffContentType(
  head: Uint8Array,
): (typeof FRAME_CONTENT_TYPES)[number] | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)
    return "image/jpeg";
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length >= 8 && png.every((b, i) => head[i] === b)) return "image/png";
  return undefined;
}
