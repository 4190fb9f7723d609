import { type ResourceLimits, Worker } from "node:worker_threads";
import { type ErrorKind, HybridDepthError } from "#shared/errors.ts";
import type { RowKernel, RowKernelArgs } from "#shared/pipeline/rowBands.ts";
import {
  type FrameOutput,
  type FrameTask,
  forgetJob,
  processFrame,
} from "../pipeline/frameWork.ts";
import { defaultThreads } from "./threads.ts";

/** Runs per-frame work: on this thread, or on a pool of worker threads. */
export interface FrameRunner {
  readonly threads: number;
  run(task: FrameTask): Promise<FrameOutput>;
  /** The job is over: threads drop what they cached for it. */
  forget(jobId: string): void;
}

let inlineQueue: Promise<unknown> = Promise.resolve();

/**
 * One thread: the work runs here, one frame after another (interleaved frames would blur the
 * per-stage times, and one thread gains nothing from it).
 */
export const INLINE_RUNNER: FrameRunner = {
  threads: 1,
  run(task) {
    const next = inlineQueue.then(() => processFrame(task));
    inlineQueue = next.catch(() => {});
    return next;
  },
  forget: forgetJob,
};

/** One row band of a per-pixel stage (`ROW_KERNELS`); its planes live in shared memory. */
export interface RowTask<K extends RowKernel = RowKernel> {
  kernel: K;
  args: RowKernelArgs<K>;
  y0: number;
  y1: number;
}

export type ToFrameWorker =
  | { type: "task"; id: number; task: FrameTask }
  | { type: "rows"; id: number; rows: RowTask }
  | { type: "forget"; jobId: string };

export type FromFrameWorker =
  | { type: "ready" }
  | { type: "done"; id: number; out?: FrameOutput }
  | { type: "error"; id: number; error: { kind: ErrorKind | null; message: string } };

type Work = { task: FrameTask } | { rows: RowTask };

interface Pending {
  id: number;
  work: Work;
  resolve: (o: FrameOutput | undefined) => void;
  reject: (e: unknown) => void;
}

/**
 * A pool thread's young generation (V8's default here: 48 MiB). A thread's own JS heap is small
 * and fills slowly, so it rarely collected, and every plane it had been handed (band arguments,
 * frame outputs in shared memory) stayed resident until it did. With 4 MiB, 2 jobs of the 12 MP
 * stack in flight peaked at 1302–1369 MiB (median 1327, 10 runs) instead of 1366–1682 (median
 * 1513), no slower (bench/memory.bench.ts; README, Performance).
 */
export const FRAME_THREAD_YOUNG_GENERATION_MB = 4;

interface Slot {
  worker: Worker;
  busy?: Pending;
}

/**
 * A fixed set of worker threads taking frame tasks first come, first served, one at a time
 * each. Shared by every pipeline of the process, so concurrent jobs share the cores rather
 * than each claiming all of them. First come, first served also keeps it deadlock-free: a
 * frame waits for its reference only after that reference was handed to a thread.
 */
export class FramePool implements FrameRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private seq = 0;
  private closed = false;

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  run(task: FrameTask): Promise<FrameOutput> {
    return this.enqueue({ task }) as Promise<FrameOutput>;
  }

  /** Runs one row band on a pool thread, after the work queued before it. */
  async runRows(rows: RowTask): Promise<void> {
    await this.enqueue({ rows });
  }

  private enqueue(work: Work): Promise<FrameOutput | undefined> {
    if (this.closed) return Promise.reject(new Error("frame pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.seq, work, resolve, reject });
      this.dispatch();
    });
  }

  forget(jobId: string): void {
    for (const s of this.slots)
      s.worker.postMessage({ type: "forget", jobId } satisfies ToFrameWorker);
  }

  /** Each thread's V8 limits, as the thread reports them. */
  get resourceLimits(): ResourceLimits[] {
    return this.slots.map((s) => s.worker.resourceLimits ?? {});
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error("frame pool closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./frameWorker.mjs", import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: FRAME_THREAD_YOUNG_GENERATION_MB },
    });
    const slot: Slot = { worker };
    // Idle threads must not keep a CLI process alive; busy ones do (see dispatch).
    worker.unref();
    worker.on("message", (m: FromFrameWorker) => {
      if (m.type === "ready") return;
      const p = slot.busy;
      if (!p || p.id !== m.id) return;
      this.release(slot);
      if (m.type === "done") p.resolve(m.out);
      else
        p.reject(
          m.error.kind
            ? new HybridDepthError(m.error.kind, m.error.message)
            : new Error(m.error.message),
        );
    });
    worker.on("error", (e) => this.lose(slot, e));
    worker.on("exit", (code) => this.lose(slot, new Error(`frame worker exited (code ${code})`)));
    return slot;
  }

  /** A thread died: its task fails, a fresh thread takes its place. */
  private lose(slot: Slot, e: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    const p = slot.busy;
    slot.busy = undefined;
    if (this.closed) return;
    this.slots[i] = this.spawn();
    p?.reject(e);
    this.dispatch();
  }

  private release(slot: Slot): void {
    slot.busy = undefined;
    slot.worker.unref();
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const p = this.queue.shift();
      if (!p) return;
      slot.busy = p;
      slot.worker.ref();
      if ("rows" in p.work) {
        // Shared planes are passed by reference: the band writes its rows where the caller reads.
        slot.worker.postMessage({
          type: "rows",
          id: p.id,
          rows: p.work.rows,
        } satisfies ToFrameWorker);
        continue;
      }
      // The frame's bytes travel in a buffer of their own, moved rather than cloned.
      const { task } = p.work;
      const bytes = new Uint8Array(task.bytes);
      const msg: ToFrameWorker = { type: "task", id: p.id, task: { ...task, bytes } };
      slot.worker.postMessage(msg, [bytes.buffer]);
    }
  }
}

const pools = new Map<number, FramePool>();

/**
 * The process's runner for `threads` threads (default: `defaultThreads()`): one thread runs
 * inline; more share one pool per size, created on first use.
 */
export function frameRunner(threads = defaultThreads()): FrameRunner {
  return threads <= 1 ? INLINE_RUNNER : framePool(threads);
}

/** The process's pool of `threads` (≥ 2) threads, created on first use. */
export function framePool(threads: number): FramePool {
  let p = pools.get(threads);
  if (!p) {
    p = new FramePool(threads);
    pools.set(threads, p);
  }
  return p;
}
