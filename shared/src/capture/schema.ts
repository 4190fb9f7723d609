import { z } from "zod";

/** Limits of a capture (DESIGN.md: 2–64 frames). */
export const MIN_FRAMES = 2;
export const MAX_FRAMES = 64;
export const FOCUS_UNITS = ["m", "diopter"] as const;
export const STAGES = ["dff", "aligned", "full"] as const;

// A frame file is a plain name inside the capture folder: no paths, so a capture can never
// read outside itself.
const frameFileName = z
  .string()
  .min(1, "frame file name is empty")
  .max(255, "frame file name is longer than 255 characters")
  .refine((f) => !/[/\\]/.test(f) && f !== "." && f !== "..", {
    message: "frame file must be a plain file name, not a path",
  })
  .refine((f) => /\.(jpe?g|png)$/i.test(f), {
    message: "frame file must end in .jpg, .jpeg or .png",
  });

const positiveFinite = (what: string) =>
  z
    // zod 4's number type itself rejects NaN and ±Infinity (e.g. JSON's 1e999): say so.
    .number({
      error: (iss) =>
        typeof iss.input === "number" ? `${what} must be finite` : `${what} must be a number`,
    })
    .refine(Number.isFinite, { message: `${what} must be finite` })
    .refine((v) => v > 0, { message: `${what} must be > 0` });

export const FrameSchema = z.object({
  file: frameFileName,
  focusDistance: positiveFinite("focusDistance"),
});

export const CameraSchema = z.object({
  fNumber: positiveFinite("camera.fNumber").optional(),
  focalLengthMm: positiveFinite("camera.focalLengthMm").optional(),
  sensorWidthMm: positiveFinite("camera.sensorWidthMm").optional(),
});

export const DepthRangeSchema = z
  .object({ min: positiveFinite("depthRange.min"), max: positiveFinite("depthRange.max") })
  .refine((r) => r.min < r.max, { message: "depthRange.min must be below depthRange.max" });

export const CaptureSchema = z
  .object({
    version: z.literal(1, { error: "version must be 1" }),
    focusUnit: z.enum(FOCUS_UNITS, { error: 'focusUnit must be "m" or "diopter"' }).default("m"),
    frames: z
      .array(FrameSchema)
      .min(MIN_FRAMES, `a capture needs at least ${MIN_FRAMES} frames`)
      .max(MAX_FRAMES, `a capture has at most ${MAX_FRAMES} frames`),
    reference: z.number().int("reference must be an integer frame index").nonnegative().optional(),
    camera: CameraSchema.optional(),
    depthRange: DepthRangeSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seenFocus = new Map<number, number>();
    const seenFile = new Map<string, number>();
    c.frames.forEach((f, i) => {
      const dup = seenFocus.get(f.focusDistance);
      if (dup !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["frames", i, "focusDistance"],
          message: `duplicate focusDistance ${f.focusDistance} (also frame ${dup}): focus distances must be distinct`,
        });
      } else seenFocus.set(f.focusDistance, i);
      const dupFile = seenFile.get(f.file);
      if (dupFile !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["frames", i, "file"],
          message: `duplicate frame file "${f.file}" (also frame ${dupFile})`,
        });
      } else seenFile.set(f.file, i);
    });
    if (c.reference !== undefined && c.reference >= c.frames.length) {
      ctx.addIssue({
        code: "custom",
        path: ["reference"],
        message: `reference ${c.reference} is not a frame index (0..${c.frames.length - 1})`,
      });
    }
  });

export type Capture = z.infer<typeof CaptureSchema>;
export type CaptureInput = z.input<typeof CaptureSchema>;
export type Frame = z.infer<typeof FrameSchema>;
export type Camera = z.infer<typeof CameraSchema>;
export type Stage = (typeof STAGES)[number];
