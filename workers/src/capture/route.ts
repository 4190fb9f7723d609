import { Hono } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv } from "../env.ts";
import { PAGE_HEADERS } from "../lib/pageCsp.ts";
import { PREVIEW_ENVIRONMENTS } from "../preview/page.ts";
import { captureCsp, renderCapturePage } from "./page.ts";

/**
 * `GET /capture`: the phone capture page (dev and staging, like the preview page). Mounted
 * before auth: the page holds no data; the API key typed in goes with each API call.
 */
export const capturePageRoutes = new Hono<AppEnv>().get("/capture", async function capturePage(c) {
  const environment = c.env.ENVIRONMENT;
  if (!PREVIEW_ENVIRONMENTS.includes(environment)) throw new HybridDepthError("NOT_FOUND");
  return c.html(renderCapturePage(environment), 200, {
    "content-security-policy": await captureCsp(),
    // The page needs the camera; nothing else may ask.
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
    ...PAGE_HEADERS,
  });
});
