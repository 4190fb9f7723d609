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
import type { FromWorker, ToWorker, WorkerInit } from "./workerProtocol.ts";

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let prior: Prior | undefined;

async function start(): Promise<void> {
  const model = await resolveModel(init.model);
  if (model) {
    const loaded = await loadPrior(model);
    prior = batchingPrior(loaded, {
      ...init.batching,
      onBatch: (size) => post({ type: "batch", size }),
    });
    // Warm-up: one real inference, so the first job does not pay for graph setup.
    const w = 64;
    await loaded.infer({ width: w, height: w, data: new Float32Array(w * w * 3).fill(0.5) });
  }
  post({ type: "ready", model: prior?.name ?? null, provider: prior?.provider ?? null });
}

port.on("message", async (m: ToWorker) => {
  if (m.type !== "job") return;
  try {
    const out = await executeJob(
      m.id,
      m.capture as Capture,
      m.frames,
      m.options as FuseOptions,
      prior,
      m.pipeline,
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
    const err =
      e instanceof HybridDepthError
        ? { kind: e.kind, message: e.message }
        : { kind: null, message: (e as Error)?.message ?? String(e) };
    post({ type: "error", id: m.id, error: err });
  }
});

start().catch((e) => post({ type: "start-failed", message: (e as Error)?.message ?? String(e) }));
