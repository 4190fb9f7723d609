import { Hono } from "hono";
import { cors } from "hono/cors";
import { HybridDepthError } from "#shared/errors.ts";
import { capturePageRoutes } from "./capture/route.ts";
import type { AppEnv } from "./env.ts";
import { authenticate } from "./middleware/auth.ts";
import { rateLimit } from "./middleware/rateLimit.ts";
import { captureRoutes } from "./routes/captures.ts";
import { frameRoutes } from "./routes/frames.ts";
import { previewRoutes } from "./routes/preview.ts";
import { resultRoutes } from "./routes/results.ts";
import { tusDiscovery, tusRoutes } from "./routes/tus.ts";

/** Headers browsers may read from our answers (tus needs its own to resume). */
const EXPOSED = [
  "Location",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Expires",
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
  "ETag",
  "Content-Range",
  "Retry-After",
];

/**
 * A refused request's unread body: drained when small (so the client sees our answer, not a
 * reset connection), cancelled past 1 MiB.
 */
async function discardBody(req: Request): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  try {
    const reader = req.body.getReader();
    for (let seen = 0; seen <= 1024 * 1024; ) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client is gone already
  }
}

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/v1/tus/*", tusDiscovery);
  app.use("/v1/*", cors({ origin: "*", exposeHeaders: EXPOSED, maxAge: 600 }));
  app.get("/v1/health", (c) => c.json({ ok: true, environment: c.env.ENVIRONMENT }));
  app.route("/", previewRoutes);
  app.route("/", capturePageRoutes);
  // Signed URLs carry their own credentials; everything else under /v1 needs auth.
  app.route("/", frameRoutes);
  for (const path of ["/v1/captures", "/v1/captures/*", "/v1/tus", "/v1/tus/*"])
    app.use(path, authenticate(), rateLimit());
  app.route("/", captureRoutes);
  app.route("/", resultRoutes);
  app.route("/", tusRoutes);
  app.notFound(() => {
    throw new HybridDepthError("NOT_FOUND");
  });
  // One place turns errors into HTTP: { error: { code, message } }.
  app.onError(async (err, c) => {
    await discardBody(c.req.raw);
    if (err instanceof HybridDepthError) return c.json(err.toJSON(), err.status as 400);
    console.error("unhandled", err);
    return c.json(new HybridDepthError("INTERNAL").toJSON(), 500);
  });
  return app;
}
