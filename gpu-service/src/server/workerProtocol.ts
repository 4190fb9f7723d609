import type { ErrorKind } from "#shared/errors.ts";
import type { PipelineResult } from "#shared/pipeline/result.ts";
import type { OutputName } from "#shared/service/fuseJob.ts";
import type { PipelineOptions } from "../pipeline/runPipeline.ts";

/** Messages between the HTTP thread and the pipeline worker. */
export interface WorkerInit {
  model?: string;
  batching: { maxBatch: number; maxQueueDelayMs: number };
}

export interface WireError {
  kind: ErrorKind | null;
  message: string;
}

export type ToWorker =
  | {
      type: "job";
      id: string;
      capture: unknown;
      options: unknown;
      frameCount: number;
      /** Int32Array over a SharedArrayBuffer: [0] turns 1 when the job is to stop. */
      cancel: SharedArrayBuffer;
      pipeline?: Partial<Omit<PipelineOptions, "prior" | "checkpoint">>;
    }
  | { type: "frame"; id: string; index: number; bytes: Uint8Array }
  | { type: "frame-error"; id: string; index: number; error: WireError };

export type FromWorker =
  | { type: "ready"; model: string | null; sha256: string | null; provider: string | null }
  | { type: "start-failed"; message: string }
  | { type: "batch"; size: number }
  /** The job wants these frames (fetched ahead of its reads). */
  | { type: "need"; id: string; index: number }
  /** The job has decoded a frame: its bytes are gone. */
  | { type: "release"; id: string; index: number }
  | {
      type: "done";
      id: string;
      result: PipelineResult;
      parts: Partial<Record<OutputName, Uint8Array>>;
    }
  | { type: "error"; id: string; error: WireError };
