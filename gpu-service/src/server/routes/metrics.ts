import { Hono } from "hono";
import type { Metrics } from "../metrics.ts";

export function metricsRoutes(metrics: Metrics): Hono {
  return new Hono().get("/metrics", async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
}
