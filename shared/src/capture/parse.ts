import type { z } from "zod";
import { HybridDepthError } from "../errors.ts";
import { type Capture, CaptureSchema } from "./schema.ts";

/** One line per problem, each naming where it is: `frames[2].focusDistance: must be > 0`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path
        .map((p, k) => (typeof p === "number" ? `[${p}]` : k === 0 ? String(p) : `.${String(p)}`))
        .join("");
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join("; ");
}

/** Validates capture metadata; throws `invalid_capture` with every problem listed. */
export function parseCapture(input: unknown): Capture {
  const r = CaptureSchema.safeParse(input);
  if (!r.success) throw new HybridDepthError("INVALID_CAPTURE", describeIssues(r.error));
  return r.data;
}

/** Focus position of each frame in diopters (1/m): the space where defocus is linear. */
export function focusDiopters(capture: Capture): Float64Array {
  return Float64Array.from(capture.frames, (f) =>
    capture.focusUnit === "diopter" ? f.focusDistance : 1 / f.focusDistance,
  );
}

/** The reference frame: the one named, else the frame focused nearest the middle of the stack (in diopters). */
export function referenceIndex(capture: Capture): number {
  if (capture.reference !== undefined) return capture.reference;
  const d = focusDiopters(capture);
  const sorted = Array.from(d.keys()).sort((a, b) => d[a]! - d[b]!);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

// HybridDepth's own server names frames `image_<n>_<metres>.jpg`.
const HYBRIDDEPTH_NAME = /^image_(\d+)_(\d+(?:\.\d+)?)\.(jpe?g|png)$/i;

/**
 * Builds capture metadata from a plain folder listing in the HybridDepth naming convention.
 * Returns undefined when no file follows it.
 */
export function captureFromFileNames(files: readonly string[]): Capture | undefined {
  const frames = files
    .map((file) => ({ file, m: HYBRIDDEPTH_NAME.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map(({ file, m }) => ({ file, focusDistance: Number(m[2]) }));
  if (frames.length === 0) return undefined;
  return parseCapture({ version: 1, focusUnit: "m", frames });
}
