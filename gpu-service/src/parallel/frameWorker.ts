/**
 * A pool thread: runs per-frame work and hands the planes back by transfer, not copy, and row
 * bands of per-pixel stages on planes in shared memory.
 */
import { parentPort } from "node:worker_threads";
import { HybridDepthError } from "#shared/errors.ts";
import { ROW_KERNELS } from "#shared/pipeline/rowBands.ts";
import { forgetJob, processFrame } from "../pipeline/frameWork.ts";
import type { FromFrameWorker, ToFrameWorker } from "./framePool.ts";

const port = parentPort!;

port.on("message", async (m: ToFrameWorker) => {
  if (m.type === "forget") {
    forgetJob(m.jobId);
    return;
  }
  try {
    if (m.type === "rows") {
      const { kernel, args, y0, y1 } = m.rows;
      (ROW_KERNELS[kernel] as (a: typeof args, y0: number, y1: number) => void)(args, y0, y1);
      port.postMessage({ type: "done", id: m.id } satisfies FromFrameWorker);
      return;
    }
    const out = await processFrame(m.task);
    // Planes in shared memory are shared by posting them; the others move.
    const color = out.color instanceof Float32Array ? out.color : out.color.samples;
    const transfer = [color.buffer, out.focus.buffer, out.inside?.buffer].filter(
      (b): b is ArrayBuffer => b instanceof ArrayBuffer,
    );
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
