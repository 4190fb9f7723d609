import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { HybridDepthError } from "#shared/errors.ts";
import type { ServiceConfig } from "./config.ts";
import type { JobLedger } from "./jobLedger.ts";
import type { Metrics } from "./metrics.ts";
import { metricsAuth } from "./middleware/metricsAuth.ts";
import { verifySignature } from "./middleware/verifySignature.ts";
import { fuseRoutes, type RunJob } from "./routes/fuse.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelRoutes } from "./routes/models.ts";
import type { ServiceState } from "./serviceState.ts";

export interface AppDeps {
  config: ServiceConfig;
  state: ServiceState;
  metrics: Metrics;
  logger: Logger;
  runJob: RunJob;
  ledger: JobLedger;
}

/** Seconds a refused client should wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

export function createApp({ config, state, metrics, logger, runJob, ledger }: AppDeps): Hono {
  const app = new Hono();
  app.use(requestId());
  app.use(async function accessLog(c, next) {
    const t = performance.now();
    await next();
    logger.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - t),
      },
      "request",
    );
  });
  // Health needs no signature: probes carry none.
  app.route("/", healthRoutes(state));
  // The inline route carries frames; every other body is a small JSON job (or none).
  const limitOf = (path: string) =>
    path === "/v1/fuse/inline" ? config.MAX_BODY_BYTES : config.MAX_JOB_BYTES;
  const signed = verifySignature(config.GPU_SERVICE_SECRET, limitOf);
  app.use("/v1/*", signed);
  app.use("/v2/models/*", signed);
  app.use("/metrics", metricsAuth(config.METRICS_TOKEN, signed));
  app.route("/", modelRoutes(state));
  app.route("/", metricsRoutes(metrics));
  app.route(
    "/",
    fuseRoutes(config, state, runJob, ledger, (outcome) => metrics.jobIds.inc({ outcome })),
  );
  app.notFound(() => {
    throw new HybridDepthError("NOT_FOUND");
  });
  // One place turns errors into HTTP: { error: { code, message } }.
  app.onError((err, c) => {
    const e =
      err instanceof HybridDepthError
        ? err
        : err instanceof HTTPException
          ? Object.assign(new HybridDepthError("INVALID_ARGUMENT", err.message), {
              status: err.status,
            })
          : undefined;
    if (!e) {
      logger.error({ requestId: c.get("requestId"), err }, "unhandled error");
      return c.json(new HybridDepthError("INTERNAL").toJSON(), 500);
    }
    if (e.code === "overloaded" || e.code === "not_ready" || e.code === "job_in_progress")
      c.header("Retry-After", String(RETRY_AFTER_SECONDS));
    return c.json(e.toJSON(), e.status as 400);
  });
  return app;
}
