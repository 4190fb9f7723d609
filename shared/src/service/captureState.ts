import { z } from "zod";

/** Where a capture is: the edge worker's record, its API and the client SDK all use this. */
export const CaptureStateSchema = z.enum(["uploading", "queued", "processing", "done", "failed"]);
export type CaptureState = z.infer<typeof CaptureStateSchema>;
