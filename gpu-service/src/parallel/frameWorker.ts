/** A pool thread: runs per-frame work and hands the planes back by transfer, not copy. */
import { parentPort } from "node:worker_threads";
import { HybridDepthError } from "#shared/errors.ts";
import { forgetJob, processFrame } from "../pipeline/frameWork.ts";
import type { FromFrameWorker, ToFrameWorker } from "./framePool.ts";

const port = parentPort!;

port.on("message", async (m: ToFrameWorker) => {
  if (m.type === "forget") {
    forgetJob(m.jobId);
    return;
  }
  try {
    const out = await processFrame(m.task);
    const transfer = [out.color.buffer, out.focus.buffer] as ArrayBuffer[];
    if (out.inside) transfer.push(out.inside.buffer as ArrayBuffer);
    port.postMessage({ type: "done", id: m.id, out } satisfies FromFrameWorker, transfer);
  } catch (e) {
    const error =
      e instanceof HybridDepthError
        ? { kind: e.kind, message: e.message }
        : { kind: null, message: (e as Error)?.message ?? String(e) };
    port.postMessage({ type: "error", id: m.id, error } satisfies FromFrameWorker);
  }
});
port.postMessage({ type: "ready" } satisfies FromFrameWorker);
