import { parseCapture } from "#shared/capture/parse.ts";
import type { CaptureInput } from "#shared/capture/schema.ts";
import type { CaptureSource } from "../capture/captureSource.ts";

/** A capture held in memory, frames in metadata order. */
export function memorySource(
  capture: CaptureInput,
  frames: readonly Uint8Array[],
  groundTruth?: Uint8Array,
): CaptureSource {
  return {
    name: "memory",
    capture: parseCapture(capture),
    readFrame: async (i) => frames[i]!,
    readGroundTruth: async () => groundTruth,
  };
}
