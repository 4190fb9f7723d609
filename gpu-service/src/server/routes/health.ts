import { Hono } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import type { ServiceState } from "../serviceState.ts";

/** Open Inference Protocol (KServe v2) health: live while the process runs, ready once warm. */
export function healthRoutes(state: ServiceState): Hono {
  return new Hono()
    .get("/v2/health/live", (c) => c.json({ live: true }))
    .get("/v2/health/ready", (c) => {
      if (!state.ready || state.draining) {
        throw new HybridDepthError(
          "NOT_READY",
          state.draining ? "shutting down" : "loading and warming up the models",
        );
      }
      return c.json({ ready: true });
    });
}
