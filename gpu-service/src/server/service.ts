import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import pino, { type Logger } from "pino";
import { createApp } from "./app.ts";
import { ByteBudget } from "./byteBudget.ts";
import type { ServiceConfig } from "./config.ts";
import { budgetedFeed } from "./frameFeed.ts";
import { JobGate } from "./jobGate.ts";
import { JobLedger } from "./jobLedger.ts";
import { createMetrics } from "./metrics.ts";
import type { ServiceState } from "./serviceState.ts";
import { PipelineWorker } from "./workerPool.ts";

export interface Service {
  /** Listening (already) on this port. */
  port: number;
  state: ServiceState;
  /** Resolves once models are loaded and warmed up (ready turns true). */
  warm: Promise<void>;
  /** Graceful stop: refuse new jobs, finish in-flight ones, close the server and the worker. */
  stop(): Promise<void>;
}

/** A running job's ledger entry is touched this often (stale, its process dead, after 3×). */
const LEDGER_HEARTBEAT_MS = 2000;
const LEDGER_PRUNE_MS = 60_000;

/**
 * Starts the GPU service: HTTP first (liveness answers at once, readiness after warm-up), the
 * pipeline worker thread beside it.
 */
export async function startService(
  config: ServiceConfig,
  logger: Logger = pino({ level: config.LOG_LEVEL }),
): Promise<Service> {
  const metrics = createMetrics();
  const state: ServiceState = {
    ready: false,
    draining: false,
    model: null,
    modelSha256: null,
    provider: null,
  };
  const ledger = await JobLedger.open(config.JOB_LEDGER_DIR, {
    retentionMs: config.JOB_LEDGER_RETENTION_SECONDS * 1000,
    maxAnswerBytes: config.JOB_LEDGER_MAX_BYTES,
    heartbeatMs: LEDGER_HEARTBEAT_MS,
  }).catch((e: Error) => {
    throw new Error(
      `JOB_LEDGER_DIR ${config.JOB_LEDGER_DIR} is not a writable directory (${e.message})`,
    );
  });
  // Entries age out even while no job finishes (each finished job prunes too).
  const pruner = setInterval(() => void ledger.prune(), LEDGER_PRUNE_MS);
  pruner.unref();
  const gate = new JobGate(config.MAX_IN_FLIGHT, config.MAX_QUEUE);
  const budget = new ByteBudget(config.FRAME_BUDGET_BYTES);
  metrics.frameBudget.set(budget.total);
  const worker: PipelineWorker = new PipelineWorker(
    {
      ...(config.HYBRIDDEPTH_MODEL ? { model: config.HYBRIDDEPTH_MODEL } : {}),
      batching: { maxBatch: config.MAX_BATCH, maxQueueDelayMs: config.MAX_QUEUE_DELAY_MS },
    },
    {
      onBatch: (size) => metrics.batchSize.observe(size),
      onExit: (code) => {
        if (!state.draining) {
          logger.fatal({ code }, "pipeline worker exited; service is no longer ready");
          state.ready = false;
        }
      },
      onRestart: (reason, ready) => {
        logger.error({ reason }, "pipeline worker replaced; not ready until the new one is warm");
        state.ready = false;
        ready.then(
          () => {
            if (!state.draining) state.ready = true;
            logger.info("pipeline worker ready again");
          },
          (err) => logger.fatal({ err: (err as Error).message }, "replacement worker failed"),
        );
      },
    },
    config.JOB_CANCEL_GRACE_MS,
  );
  const updateGauges = () => {
    metrics.queueDepth.set(gate.queued);
    metrics.inFlight.set(gate.inFlight);
  };
  const app = createApp({
    config,
    state,
    metrics,
    logger,
    ledger,
    runJob: async (jobId, job, frames) => {
      const started = performance.now();
      const log = logger.child({ jobId });
      try {
        // Admission first: a job's frames are fetched only once it holds a slot, under the
        // byte budget, as its pipeline asks for them; the slot is free once the job has stopped.
        const p = gate.run(() => {
          updateGauges();
          const feed = budgetedFeed(frames, budget, () => metrics.frameBytes.set(budget.reserved));
          return worker.run(jobId, job.capture, job.options, feed, config.JOB_TIMEOUT_MS);
        });
        updateGauges();
        const out = await p;
        for (const [stage, ms] of Object.entries(out.result.timingsMs))
          metrics.stageSeconds.observe({ stage }, ms / 1000);
        metrics.jobs.inc({ outcome: "done" });
        log.info(
          { stage: out.result.stage, ms: Math.round(performance.now() - started) },
          "job done",
        );
        return out;
      } catch (e) {
        metrics.jobs.inc({ outcome: (e as { code?: string }).code ?? "error" });
        log.warn({ err: (e as Error).message }, "job failed");
        throw e;
      } finally {
        metrics.jobSeconds.observe((performance.now() - started) / 1000);
        updateGauges();
      }
    },
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () =>
      resolve(s),
    );
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, secret: config.GPU_SERVICE_SECRET ? "set" : "NONE (dev mode)" }, "listening");

  const warm = worker.ready.then(({ model, sha256, provider }) => {
    state.model = model;
    state.modelSha256 = sha256;
    state.provider = provider;
    if (model) metrics.provider.set({ provider: provider ?? "none", model }, 1);
    else logger.warn("no depth prior model found: jobs asking for aligned/full fall back to dff");
    state.ready = true;
    logger.info({ model, provider }, "ready");
  });
  warm.catch((err) => logger.fatal({ err: (err as Error).message }, "warm-up failed"));

  return {
    port,
    state,
    warm,
    async stop() {
      state.draining = true;
      state.ready = false;
      clearInterval(pruner);
      await gate.drained();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.close();
      logger.info("stopped");
    },
  };
}
