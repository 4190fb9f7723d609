import { Worker } from "node:worker_threads";
import type { Capture } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { FuseOptions } from "#shared/service/fuseJob.ts";
import type { JobOutputs } from "../service/executeJob.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./workerProtocol.ts";

export interface WorkerHooks {
  onBatch?: (size: number) => void;
  onExit?: (code: number) => void;
}

interface Waiter {
  resolve: (o: JobOutputs) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The HTTP thread's handle on the pipeline worker thread. */
export class PipelineWorker {
  readonly ready: Promise<{ model: string | null; provider: string | null }>;
  private readonly worker: Worker;
  private readonly waiters = new Map<string, Waiter>();
  private seq = 0;
  private exited = false;

  constructor(init: WorkerInit, hooks: WorkerHooks = {}) {
    // The worker runs TypeScript sources too: its .mjs entry loads tsx's loader first.
    this.worker = new Worker(new URL("./pipelineWorker.mjs", import.meta.url), {
      workerData: init,
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") resolve({ model: m.model, provider: m.provider });
        else if (m.type === "start-failed")
          reject(new Error(`pipeline worker failed to start: ${m.message}`));
        else if (m.type === "batch") hooks.onBatch?.(m.size);
        else this.settle(m);
      });
      this.worker.on("error", reject);
    });
    this.worker.on("exit", (code) => {
      this.exited = true;
      for (const [id, w] of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`pipeline worker exited (code ${code}) during job ${id}`));
      }
      this.waiters.clear();
      hooks.onExit?.(code);
    });
  }

  /** Runs one job; frames' buffers are transferred to the worker (unusable here afterwards). */
  run(
    jobId: string,
    capture: Capture,
    options: FuseOptions,
    frames: Uint8Array[],
    timeoutMs: number,
  ): Promise<JobOutputs> {
    if (this.exited)
      return Promise.reject(new HybridDepthError("NOT_READY", "pipeline worker is not running"));
    const id = `${jobId}#${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // The worker finishes the job regardless; its answer is dropped.
        this.waiters.delete(id);
        reject(
          new HybridDepthError("JOB_TIMEOUT", `job ${jobId} did not finish within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      // Each frame must own its buffer to be transferred (a view would move its neighbours too).
      const owned = frames.map((f) =>
        f.byteOffset === 0 && f.byteLength === f.buffer.byteLength ? f : new Uint8Array(f),
      );
      const msg: ToWorker = { type: "job", id, capture, options, frames: owned };
      this.worker.postMessage(
        msg,
        owned.map((f) => f.buffer as ArrayBuffer),
      );
    });
  }

  private settle(m: Extract<FromWorker, { type: "done" | "error" }>): void {
    const w = this.waiters.get(m.id);
    if (!w) return;
    this.waiters.delete(m.id);
    clearTimeout(w.timer);
    if (m.type === "done") w.resolve({ result: m.result, parts: m.parts });
    else
      w.reject(
        m.error.kind
          ? new HybridDepthError(m.error.kind, m.error.message)
          : new Error(m.error.message),
      );
  }

  async close(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
