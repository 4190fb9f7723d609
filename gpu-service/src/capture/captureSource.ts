import type { Capture } from "#shared/capture/schema.ts";

/**
 * A capture and a way to read its frames, wherever they live (a folder, an upload, URLs).
 * Frames are read on demand so a pipeline holds one frame's bytes at a time.
 */
export interface CaptureSource {
  /** Where it came from, for messages. */
  readonly name: string;
  readonly capture: Capture;
  readFrame(index: number): Promise<Uint8Array>;
  /** The order frames will be read in (each once), told before the first read: a streaming source fetches ahead. */
  plan?(order: readonly number[]): void;
  /** The pipeline is done with a frame's bytes (decoded): a streaming source lets them go. */
  release?(index: number): void;
  /** The 16-bit millimetre ground truth, when the capture carries one. */
  readGroundTruth(): Promise<Uint8Array | undefined>;
}
