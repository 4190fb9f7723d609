import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The service's Prometheus metrics, on a registry of their own (no globals between tests). */
export function createMetrics() {
  const registry = new Registry();
  const queueDepth = new Gauge({
    name: "hybriddepth_queue_depth",
    help: "Jobs waiting for a pipeline slot",
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: "hybriddepth_jobs_in_flight",
    help: "Jobs in the pipeline",
    registers: [registry],
  });
  const jobs = new Counter({
    name: "hybriddepth_jobs_total",
    help: "Jobs by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const jobIds = new Counter({
    name: "hybriddepth_job_ids_total",
    help: "/v1/fuse requests by what their job id got: ran (new), joined (running here), stored (done before)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "hybriddepth_prior_batch_size",
    help: "Images per prior inference run",
    buckets: [1, 2, 3, 4, 6, 8, 16],
    registers: [registry],
  });
  const stageSeconds = new Histogram({
    name: "hybriddepth_stage_seconds",
    help: "Pipeline stage latency",
    labelNames: ["stage"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const jobSeconds = new Histogram({
    name: "hybriddepth_job_seconds",
    help: "Whole job latency, frame fetch included",
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const frameBudget = new Gauge({
    name: "hybriddepth_frame_budget_bytes",
    help: "Bytes of frames the service holds at most between download and decode (FRAME_BUDGET_BYTES)",
    registers: [registry],
  });
  const frameBytes = new Gauge({
    name: "hybriddepth_frame_bytes_reserved",
    help: "Bytes of the frame budget reserved now (downloads in progress and frames not yet decoded)",
    registers: [registry],
  });
  const provider = new Gauge({
    name: "hybriddepth_execution_provider",
    help: "1 for the ONNX execution provider and model in use",
    labelNames: ["provider", "model"] as const,
    registers: [registry],
  });
  return {
    registry,
    queueDepth,
    inFlight,
    jobs,
    jobIds,
    batchSize,
    stageSeconds,
    jobSeconds,
    frameBudget,
    frameBytes,
    provider,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
