import { Worker } from "node:worker_threads";
import type { Capture } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { FuseOptions } from "#shared/service/fuseJob.ts";
import type { JobOutputs } from "../service/executeJob.ts";
import type { FromWorker, ToWorker, WireError, WorkerInit } from "./workerProtocol.ts";

export interface WorkerHooks {
  onBatch?: (size: number) => void;
  onExit?: (code: number) => void;
  /** The thread was replaced (a job would not stop); `ready` resolves once the new one is warm. */
  onRestart?: (reason: string, ready: Promise<unknown>) => void;
}

/** Where a job's frames come from, as the pipeline asks for them (HTTP thread side). */
export interface FrameFeed {
  readonly count: number;
  /** Frame `index`'s bytes; `signal` aborts when the job is over. */
  fetch(index: number, signal: AbortSignal): Promise<Uint8Array>;
  /** The pipeline has decoded frame `index`. */
  release(index: number): void;
  /** The job is over: let go of whatever is still held. */
  close(): void;
}

interface Running {
  jobId: string;
  feed: FrameFeed;
  resolve: (o: JobOutputs) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  /** [0] = 1: stop (read by the worker between stages). */
  cancel: Int32Array;
  abort: AbortController;
  timedOut?: HybridDepthError;
  killTimer?: ReturnType<typeof setTimeout>;
}

const wire = (e: unknown): WireError =>
  e instanceof HybridDepthError
    ? { kind: e.kind, message: e.message }
    : { kind: null, message: (e as Error)?.message ?? String(e) };

/**
 * The HTTP thread's handle on the pipeline worker thread. A job that runs past its time limit
 * is told to stop (a shared flag the pipeline reads between stages and frames) and is answered
 * only once it has; a thread that does not stop within `cancelGraceMs` is terminated and
 * replaced, so no timed-out job keeps computing or holding memory.
 */
export class PipelineWorker {
  ready!: Promise<{ model: string | null; sha256: string | null; provider: string | null }>;
  private worker!: Worker;
  private readonly running = new Map<string, Running>();
  private seq = 0;
  private exited = false;

  constructor(
    private readonly init: WorkerInit,
    private readonly hooks: WorkerHooks = {},
    private readonly cancelGraceMs = 10_000,
  ) {
    this.spawn();
  }

  private spawn(): void {
    // The worker runs TypeScript sources too: its .mjs entry loads tsx's loader first.
    const worker = new Worker(new URL("./pipelineWorker.mjs", import.meta.url), {
      workerData: this.init,
    });
    this.worker = worker;
    this.exited = false;
    this.ready = new Promise((resolve, reject) => {
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") resolve({ model: m.model, sha256: m.sha256, provider: m.provider });
        else if (m.type === "start-failed")
          reject(new Error(`pipeline worker failed to start: ${m.message}`));
        else if (m.type === "batch") this.hooks.onBatch?.(m.size);
        else if (m.type === "need") this.supply(m.id, m.index);
        else if (m.type === "release") this.running.get(m.id)?.feed.release(m.index);
        else this.settle(m);
      });
      worker.on("error", reject);
    });
    worker.on("exit", (code) => {
      if (worker !== this.worker) return; // replaced: its jobs were answered then
      this.exited = true;
      for (const [id, r] of this.running) {
        this.finish(id, r);
        r.reject(new Error(`pipeline worker exited (code ${code}) during job ${r.jobId}`));
      }
      this.hooks.onExit?.(code);
    });
  }

  /** Runs one job; its frames are fetched through `feed` as the pipeline asks for them. */
  run(
    jobId: string,
    capture: Capture,
    options: FuseOptions,
    feed: FrameFeed,
    timeoutMs: number,
  ): Promise<JobOutputs> {
    if (this.exited) {
      feed.close();
      return Promise.reject(new HybridDepthError("NOT_READY", "pipeline worker is not running"));
    }
    const id = `${jobId}#${++this.seq}`;
    return new Promise((resolve, reject) => {
      const r: Running = {
        jobId,
        feed,
        resolve,
        reject,
        cancel: new Int32Array(new SharedArrayBuffer(4)),
        abort: new AbortController(),
        timer: setTimeout(() => this.timeOut(r, timeoutMs), timeoutMs),
      };
      this.running.set(id, r);
      const msg: ToWorker = {
        type: "job",
        id,
        capture,
        options,
        frameCount: feed.count,
        cancel: r.cancel.buffer as SharedArrayBuffer,
      };
      this.worker.postMessage(msg);
    });
  }

  /** Jobs in the worker (timed-out ones included until they have stopped). */
  get jobs(): number {
    return this.running.size;
  }

  private timeOut(r: Running, timeoutMs: number): void {
    r.timedOut = new HybridDepthError(
      "JOB_TIMEOUT",
      `job ${r.jobId} did not finish within ${timeoutMs} ms`,
    );
    Atomics.store(r.cancel, 0, 1);
    r.abort.abort(r.timedOut); // downloads in progress stop too
    r.killTimer = setTimeout(
      () =>
        this.replace(`job ${r.jobId} did not stop within ${this.cancelGraceMs} ms of its timeout`),
      this.cancelGraceMs,
    );
  }

  private supply(id: string, index: number): void {
    const r = this.running.get(id);
    if (!r) return;
    const worker = this.worker;
    r.feed.fetch(index, r.abort.signal).then(
      (bytes) => {
        if (this.running.get(id) !== r || worker !== this.worker) return; // over: feed closed
        // A frame must own its buffer to be transferred (a view would move its neighbours too).
        const owned =
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? bytes
            : new Uint8Array(bytes);
        const msg: ToWorker = { type: "frame", id, index, bytes: owned };
        worker.postMessage(msg, [owned.buffer as ArrayBuffer]);
      },
      (e) => {
        if (this.running.get(id) !== r || worker !== this.worker) return;
        const msg: ToWorker = { type: "frame-error", id, index, error: wire(r.timedOut ?? e) };
        worker.postMessage(msg);
      },
    );
  }

  private settle(m: Extract<FromWorker, { type: "done" | "error" }>): void {
    const r = this.running.get(m.id);
    if (!r) return;
    this.finish(m.id, r);
    if (r.timedOut) r.reject(r.timedOut);
    else if (m.type === "done") r.resolve({ result: m.result, parts: m.parts });
    else
      r.reject(
        m.error.kind
          ? new HybridDepthError(m.error.kind, m.error.message)
          : new Error(m.error.message),
      );
  }

  private finish(id: string, r: Running): void {
    this.running.delete(id);
    clearTimeout(r.timer);
    clearTimeout(r.killTimer);
    r.abort.abort();
    r.feed.close();
  }

  /** Terminates the thread and starts a fresh one; every job on it is answered now. */
  private replace(reason: string): void {
    const old = this.worker;
    for (const [id, r] of this.running) {
      this.finish(id, r);
      r.reject(
        r.timedOut ??
          new HybridDepthError("NOT_READY", `pipeline worker restarted (${reason}); retry`),
      );
    }
    this.spawn();
    this.hooks.onRestart?.(reason, this.ready);
    void old.terminate();
  }

  async close(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
