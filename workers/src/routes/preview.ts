import { Hono } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv } from "../env.ts";
import { PREVIEW_ENVIRONMENTS, previewCsp, renderPreviewPage } from "../preview/page.ts";

/**
 * `GET /`: the staging preview page (dev and staging only), one self-contained HTML document
 * that drives the public API from the browser. Mounted before auth: the page holds no data;
 * the API key the user types goes with each API call.
 */
export const previewRoutes = new Hono<AppEnv>().get("/", async function previewPage(c) {
  const environment = c.env.ENVIRONMENT;
  if (!PREVIEW_ENVIRONMENTS.includes(environment)) throw new HybridDepthError("NOT_FOUND");
  return c.html(renderPreviewPage(environment), 200, {
    "content-security-policy": await previewCsp(),
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
  });
});
