import { z } from "zod";
import { STAGES } from "../capture/schema.ts";

export const FrameRegistrationSchema = z.object({
  frame: z.number().int(),
  file: z.string(),
  focusDistanceM: z.number(),
  scale: z.number(),
  rotationDeg: z.number(),
  shiftPx: z.tuple([z.number(), z.number()]),
  ncc: z.number(),
  nccIdentity: z.number(),
  residual: z.number(),
  trusted: z.boolean(),
  reason: z.string().optional(),
});

/** `result.json`: what was run, how long each stage took, and what to trust. */
export const AlignmentSchema = z.object({
  /** Pixels that entered the robust fit and the fraction the robust weights kept. */
  used: z.number().int(),
  inlierFraction: z.number(),
  fallback: z.enum(["scale-only", "none"]).nullable(),
});

/** The blur model depth from focus used: the capture's optics, or one fitted to the stack. */
export const OpticsUsedSchema = z.object({
  /** `capture.camera`, the reference frame's EXIF, or fitted to the stack (no optics known). */
  source: z.enum(["capture", "exif", "fitted"]),
  fNumber: z.number().optional(),
  focalLengthMm: z.number().optional(),
  sensorWidthMm: z.number().optional(),
  /**
   * PSF sigma (px at work size) per diopter of defocus (for optics: with focus at infinity, the
   * thin lens's times `blurGain`).
   */
  blurPxPerDiopter: z.number(),
  /**
   * Optics only: the blur the stack shows as a factor on the thin lens's (0.5–2, fitted where
   * blur resolves it, σ ≥ 0.75 px; else 1). Absent before pipeline 0.3.5.
   */
  blurGain: z.number().optional(),
});

/** Where the per-pixel fusion stages ran: the TypeScript reference, or ONNX graphs. */
export const FUSION_PATHS = ["graph", "js"] as const;
export type FusionPath = (typeof FUSION_PATHS)[number];

export const FusionUsedSchema = z.object({
  /** "mixed": some stages as graphs, some in TypeScript (the CPU default; see `stages`). */
  path: z.enum([...FUSION_PATHS, "mixed"]),
  /** Per stage (focusMeasure, refinement): "js", or the execution provider its graph ran on. */
  stages: z.record(z.string(), z.string()),
  /**
   * Per graph, each node's execution provider as onnxruntime's profile reports it ("Conv_4":
   * "CUDAExecutionProvider"); only when asked (HYBRIDDEPTH_FUSION_PLACEMENT=1).
   */
  placement: z.record(z.string(), z.record(z.string(), z.string())).optional(),
});

export const ResultSchema = z.object({
  pipelineVersion: z.string(),
  /** The stage that ran; below `requestedStage` when a fallback was needed (see `fallbacks`). */
  stage: z.enum(STAGES),
  requestedStage: z.enum(STAGES),
  width: z.number().int(),
  height: z.number().int(),
  sourceWidth: z.number().int(),
  sourceHeight: z.number().int(),
  referenceFrame: z.number().int(),
  focusDistancesM: z.array(z.number()),
  depthRangeM: z.object({ min: z.number(), max: z.number() }),
  /** Prior alignment in inverse depth (1/depth = scale·prior + shift); null when no prior ran. */
  scale: z.number().nullable(),
  shift: z.number().nullable(),
  model: z.string().nullable(),
  /** sha256 of the prior's weights (with `model`, the identity of what computed the result). */
  modelSha256: z.string().nullable().optional(),
  /** Execution provider the prior ran on. */
  provider: z.string().nullable(),
  alignment: AlignmentSchema.nullable(),
  /** Each stage that could not run as asked, and why. */
  fallbacks: z.array(z.string()),
  /** Fraction of pixels with confidence ≥ CONFIDENT_THRESHOLD. */
  coverage: z.number(),
  /** Absent in results of pipeline versions before 0.2.0. */
  optics: OpticsUsedSchema.optional(),
  /** Absent in results of pipeline versions before the fusion graphs. */
  fusion: FusionUsedSchema.optional(),
  timingsMs: z.record(z.string(), z.number()),
  registration: z.array(FrameRegistrationSchema),
  warnings: z.array(z.string()),
});

export type PipelineResult = z.infer<typeof ResultSchema>;
export type FrameRegistration = z.infer<typeof FrameRegistrationSchema>;
export type OpticsUsed = z.infer<typeof OpticsUsedSchema>;
export type FusionUsed = z.infer<typeof FusionUsedSchema>;

/** Confidence at or above which a DFF pixel counts as covered. */
export const CONFIDENT_THRESHOLD = 0.5;
