/**
 * The worker thread that runs pipelines: onnxruntime's `run()` and the fusion math block the
 * thread they run on, so they stay off the HTTP thread and health checks answer under load.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Capture } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { FuseOptions } from "#shared/service/fuseJob.ts";
import { batchingPrior } from "../prior/batchingPrior.ts";
import { resolveModel } from "../prior/modelStore.ts";
import { loadPrior, type Prior } from "../prior/priorRunner.ts";
import { executeJob } from "../service/executeJob.ts";
import { StreamedFrames } from "./streamedFrames.ts";
import type { FromWorker, ToWorker, WireError, WorkerInit } from "./workerProtocol.ts";

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** The warm-up image: a phone frame's aspect (4:3), small (the prior resizes it anyway). */
const WARM_UP_SIZE = [64, 48] as const;

let prior: Prior | undefined;
const jobs = new Map<string, StreamedFrames>();

async function start(): Promise<void> {
  const model = await resolveModel(init.model);
  if (model) {
    const loaded = await loadPrior(model);
    prior = batchingPrior(loaded, {
      ...init.batching,
      onBatch: (size) => post({ type: "batch", size }),
    });
    // Warm-up: one real inference, so the first job does not pay for graph setup. Its shape is
    // a phone frame's (4:3): onnxruntime's CPU arena keeps what the first run needed, and a
    // square image is the network's largest input (pydnet-pp: 640×640 against 640×448), which
    // left the service holding 400 instead of 320 MiB when ready.
    const [w, h] = WARM_UP_SIZE;
    await loaded.infer({ width: w, height: h, data: new Float32Array(w * h * 3).fill(0.5) });
  }
  post({
    type: "ready",
    model: prior?.name ?? null,
    sha256: prior?.sha256 ?? null,
    provider: prior?.provider ?? null,
  });
}

const wire = (e: unknown): WireError =>
  e instanceof HybridDepthError
    ? { kind: e.kind, message: e.message }
    : { kind: null, message: (e as Error)?.message ?? String(e) };

async function runJob(m: Extract<ToWorker, { type: "job" }>): Promise<void> {
  await started; // a fresh thread (after a replacement) loads its model before its first job
  const frames = new StreamedFrames(
    (index) => post({ type: "need", id: m.id, index }),
    (index) => post({ type: "release", id: m.id, index }),
  );
  jobs.set(m.id, frames);
  // Cancellation is a shared flag, read between stages and frames: it needs no message to be
  // handled, so it holds even while this thread is busy between awaits.
  const cancel = new Int32Array(m.cancel);
  const checkpoint = () => {
    if (Atomics.load(cancel, 0) === 1)
      throw new HybridDepthError("JOB_TIMEOUT", "job stopped: it ran past its time limit");
  };
  try {
    const out = await executeJob(
      m.id,
      m.capture as Capture,
      frames,
      m.options as FuseOptions,
      prior,
      { ...m.pipeline, checkpoint },
    );
    // Copies own plain ArrayBuffers: sharp's output buffers are external memory that
    // postMessage cannot transfer (Node 22 refuses them), and pooled ones hold neighbours.
    const parts = Object.fromEntries(
      Object.entries(out.parts).map(([k, p]) => [k, new Uint8Array(p)]),
    );
    post(
      { type: "done", id: m.id, result: out.result, parts },
      Object.values(parts).map((p) => p.buffer as ArrayBuffer),
    );
  } catch (e) {
    post({ type: "error", id: m.id, error: wire(e) });
  } finally {
    jobs.delete(m.id);
  }
}

port.on("message", (m: ToWorker) => {
  if (m.type === "job") void runJob(m);
  else if (m.type === "frame") jobs.get(m.id)?.deliver(m.index, m.bytes);
  else if (m.type === "frame-error") jobs.get(m.id)?.deliver(m.index, m.error);
});

const started = start().catch((e) =>
  post({ type: "start-failed", message: (e as Error)?.message ?? String(e) }),
);
