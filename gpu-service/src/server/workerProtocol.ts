import type { ErrorKind } from "#shared/errors.ts";
import type { PipelineResult } from "#shared/pipeline/result.ts";
import type { OutputName } from "#shared/service/fuseJob.ts";
import type { PipelineOptions } from "../pipeline/runPipeline.ts";

/** Messages between the HTTP thread and the pipeline worker. */
export interface WorkerInit {
  model?: string;
  batching: { maxBatch: number; maxQueueDelayMs: number };
}

export type ToWorker = {
  type: "job";
  id: string;
  capture: unknown;
  options: unknown;
  frames: Uint8Array[];
  pipeline?: Partial<Omit<PipelineOptions, "prior">>;
};

export type FromWorker =
  | { type: "ready"; model: string | null; provider: string | null }
  | { type: "start-failed"; message: string }
  | { type: "batch"; size: number }
  | {
      type: "done";
      id: string;
      result: PipelineResult;
      parts: Partial<Record<OutputName, Uint8Array>>;
    }
  | { type: "error"; id: string; error: { kind: ErrorKind | null; message: string } };
