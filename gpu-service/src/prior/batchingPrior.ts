import type { AnyRgbImage } from "#shared/image/types.ts";
import type { BandRunner } from "#shared/pipeline/rowBands.ts";
import type { Prior } from "./priorRunner.ts";

export interface BatchingOptions {
  /** Most images in one run (Triton's max_batch_size); capped by the model's own limit. */
  maxBatch: number;
  /** How long the first request waits for company (Triton's max_queue_delay). */
  maxQueueDelayMs: number;
  /** Told the size of every batch run, for metrics. */
  onBatch?: (size: number) => void;
}

interface Pending {
  rgb: AnyRgbImage;
  bands: BandRunner | undefined;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

/**
 * Dynamic batching of prior inference across concurrent jobs: requests arriving within
 * `maxQueueDelayMs` of the first are run together, up to `maxBatch`. With a model whose batch
 * dimension is fixed (pydnet-pp) every batch is one image and nothing waits.
 */
export function batchingPrior(prior: Prior, options: BatchingOptions): Prior {
  const limit = Math.max(1, Math.min(options.maxBatch, prior.maxBatch));
  let queue: Pending[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = Promise.resolve();

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (queue.length) {
      const batch = queue.slice(0, limit);
      queue = queue.slice(limit);
      // One run at a time: the session is shared, and a run already uses every core.
      running = running.then(async () => {
        options.onBatch?.(batch.length);
        try {
          // One image can go straight into its caller's bands; a batch's outputs are the run's.
          if (batch.length === 1) {
            const [p] = batch as [Pending];
            p.resolve(await prior.infer(p.rgb, p.bands));
            return;
          }
          const out = await prior.inferBatch(batch.map((p) => p.rgb));
          for (const [k, p] of batch.entries()) p.resolve(out[k]!);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      });
    }
  };

  return {
    name: prior.name,
    ...(prior.sha256 ? { sha256: prior.sha256 } : {}),
    provider: prior.provider,
    maxBatch: prior.maxBatch,
    cpuThreads: prior.cpuThreads,
    ownThread: prior.ownThread,
    inferBatch: (images) => Promise.all(images.map((rgb) => enqueue(rgb, undefined))),
    infer: (rgb, bands) => enqueue(rgb, bands),
  };

  function enqueue(rgb: AnyRgbImage, bands: Pending["bands"]): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      queue.push({ rgb, bands, resolve, reject });
      if (limit === 1 || queue.length >= limit || options.maxQueueDelayMs <= 0) flush();
      else timer ??= setTimeout(flush, options.maxQueueDelayMs);
    });
  }
}
