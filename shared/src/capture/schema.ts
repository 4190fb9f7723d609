import { z } from "zod";
import { DEVICE_LIMITS } from "./deviceLimits.ts";

export { DEVICE_LIMITS };

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

/**
 * Physical bounds of every number a capture carries: outside them the optics turn into
 * overflow (1e308 m), underflow (5e-324 m) or nonsense, and the depth into ±Infinity.
 * Distances: 1 cm to 1 km, whichever unit they come in.
 */
export const BOUNDS = {
  distanceM: { min: 0.01, max: 1000, unit: "m" },
  diopters: { min: 0.001, max: 100, unit: "diopters" },
  fNumber: { min: 0.5, max: 64, unit: "" },
  focalLengthMm: { min: 0.5, max: 2000, unit: "mm" },
  sensorWidthMm: { min: 1, max: 100, unit: "mm" },
} as const;
type Bound = (typeof BOUNDS)[keyof typeof BOUNDS];

const rangeText = (b: Bound) => `between ${b.min} and ${b.max}${b.unit ? ` ${b.unit}` : ""}`;

/** A finite number > 0, and within `bound` when given (the message names the range). */
const positiveFinite = (what: string, bound?: Bound) =>
  z
    // zod 4's number type itself rejects NaN and ±Infinity (e.g. JSON's 1e999): say so.
    .number({
      error: (iss) =>
        typeof iss.input === "number" ? `${what} must be finite` : `${what} must be a number`,
    })
    .refine(Number.isFinite, { message: `${what} must be finite` })
    .refine((v) => v > 0, { message: `${what} must be > 0` })
    // Only a positive finite value is checked against the range: one problem, one message.
    .refine((v) => !bound || !(v > 0) || (v >= bound.min && v <= bound.max), {
      message: bound ? `${what} must be ${rangeText(bound)}` : "",
    });

/** Whether a focus distance in `unit` is within the physical range (the capture checks it). */
export function focusDistanceBound(unit: (typeof FOCUS_UNITS)[number]): Bound {
  return unit === "diopter" ? BOUNDS.diopters : BOUNDS.distanceM;
}

export const FrameSchema = z.object({
  file: frameFileName,
  // Its range depends on focusUnit: checked by CaptureSchema.
  focusDistance: positiveFinite("focusDistance"),
});

export const CameraSchema = z.object({
  fNumber: positiveFinite("camera.fNumber", BOUNDS.fNumber).optional(),
  focalLengthMm: positiveFinite("camera.focalLengthMm", BOUNDS.focalLengthMm).optional(),
  sensorWidthMm: positiveFinite("camera.sensorWidthMm", BOUNDS.sensorWidthMm).optional(),
});

export const DepthRangeSchema = z
  .object({
    min: positiveFinite("depthRange.min", BOUNDS.distanceM),
    max: positiveFinite("depthRange.max", BOUNDS.distanceM),
  })
  .refine((r) => r.min < r.max, { message: "depthRange.min must be below depthRange.max" });

const boundedText = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .max(max, `${what} is longer than ${max} characters`);
const finite = (what: string) =>
  z.number({ error: `${what} must be a number` }).refine(Number.isFinite, `${what} must be finite`);

/**
 * What the capturing device said about itself (the capture page records it): for a server to
 * read when a result looks wrong, never input to the math. Its focus capability is as the camera
 * reported it, in the camera's units (an uncalibrated lens reports unphysical numbers), so it
 * is finite, not range-checked. Unknown fields are dropped.
 */
export const DeviceSchema = z.object({
  userAgent: boundedText("device.userAgent", DEVICE_LIMITS.userAgent).optional(),
  cameraLabel: boundedText("device.cameraLabel", DEVICE_LIMITS.text).optional(),
  focusDistance: z
    .object({
      min: finite("device.focusDistance.min"),
      max: finite("device.focusDistance.max"),
      step: finite("device.focusDistance.step").optional(),
    })
    .optional(),
  /** Android's UNCALIBRATED lenses (and any the page cannot vouch for) report no true metres. */
  focusUnitsMayBeUncalibrated: z.boolean().optional(),
  orientation: boundedText("device.orientation", DEVICE_LIMITS.text).optional(),
  /** How each frame was taken (`takePhoto`, `grabFrame`). */
  via: z
    .array(boundedText("device.via[]", DEVICE_LIMITS.text))
    .max(DEVICE_LIMITS.list, `device.via has at most ${DEVICE_LIMITS.list} entries`)
    .optional(),
  notes: z
    .array(boundedText("device.notes[]", DEVICE_LIMITS.note))
    .max(DEVICE_LIMITS.list, `device.notes has at most ${DEVICE_LIMITS.list} entries`)
    .optional(),
});

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
    // Not in the content address (workers/src/lib/contentAddress.ts): it does not change the
    // depth, and two phones sending identical frames should share one result.
    device: DeviceSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seenFocus = new Map<number, number>();
    const seenFile = new Map<string, number>();
    const bound = focusDistanceBound(c.focusUnit);
    c.frames.forEach((f, i) => {
      if (
        Number.isFinite(f.focusDistance) &&
        f.focusDistance > 0 &&
        (f.focusDistance < bound.min || f.focusDistance > bound.max)
      )
        ctx.addIssue({
          code: "custom",
          path: ["frames", i, "focusDistance"],
          message: `focusDistance ${f.focusDistance} must be ${rangeText(bound)} (focusUnit "${c.focusUnit}")`,
        });
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
export type Device = z.infer<typeof DeviceSchema>;
export type Stage = (typeof STAGES)[number];
