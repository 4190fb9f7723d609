import { Hono } from "hono";
import { sha256Hex } from "#shared/auth/hmac.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { DEFAULT_FORMAT } from "#shared/service/outputs.ts";
import type { AppEnv } from "../env.ts";
import { ownedCapture } from "../lib/captures.ts";
import { RESULT_FILES, type ResultFormat, resultKey } from "../lib/r2Keys.ts";
import { resultCache, resultCacheKey } from "../lib/results.ts";

/**
 * Serves a finished capture's outputs from R2: strong ETag (content address + format), 304 on
 * If-None-Match, Range for the big float arrays. Results never change once written, so clients
 * and caches may keep them (immutable); the Cache API fronts R2 for repeat readers.
 */
export const resultRoutes = new Hono<AppEnv>().get("/v1/captures/:id/depth", async (c) => {
  const r = await ownedCapture(c.env, c.req.param("id"), c.get("principal"));
  const format = (c.req.query("format") ?? DEFAULT_FORMAT) as ResultFormat;
  const spec = Object.hasOwn(RESULT_FILES, format) ? RESULT_FILES[format] : undefined;
  if (!spec)
    throw new HybridDepthError(
      "INVALID_ARGUMENT",
      `format must be one of ${Object.keys(RESULT_FILES).join(", ")}`,
    );
  if (r.state !== "done" || !r.address || !r.resultPrefix)
    throw new HybridDepthError("RESULT_NOT_READY", `capture is ${r.state}`);
  // Names what computed it too (tenant, prior, stage reached): a new prior's result is a new tag.
  const etag = `"${(await sha256Hex(`${r.resultPrefix}${format}`)).slice(0, 32)}"`;
  const headers = {
    etag,
    "cache-control": "private, max-age=31536000, immutable",
    "content-type": spec.type,
    "accept-ranges": "bytes",
  };
  const inm = c.req.header("if-none-match");
  if (inm?.split(",").some((t) => t.trim() === etag)) return c.body(null, 304, headers);

  const range = c.req.header("range");
  const cacheKey = resultCacheKey(r.resultPrefix, format);
  const cache = resultCache();
  if (!range) {
    const hit = await cache.match(cacheKey);
    if (hit) return new Response(hit.body, { headers: { ...headers, "x-cache": "hit" } });
  }
  const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
  if (range && !m)
    throw new HybridDepthError("INVALID_ARGUMENT", "Range must be bytes=<start>-[<end>]");
  const key = resultKey(r.resultPrefix, spec.file);
  if (m) {
    const head = await c.env.BUCKET.head(key);
    if (!head) throw new HybridDepthError("RESULT_NOT_READY", "result file missing from storage");
    const start = Number(m[1]);
    if (start >= head.size)
      return c.body(null, 416, { ...headers, "content-range": `bytes */${head.size}` });
    const end = m[2] ? Math.min(Number(m[2]), head.size - 1) : head.size - 1;
    if (end < start)
      throw new HybridDepthError("INVALID_ARGUMENT", "Range end is before its start");
    const part = await c.env.BUCKET.get(key, { range: { offset: start, length: end - start + 1 } });
    if (!part) throw new HybridDepthError("RESULT_NOT_READY", "result file missing from storage");
    return new Response(part.body, {
      status: 206,
      headers: {
        ...headers,
        "content-range": `bytes ${start}-${end}/${head.size}`,
        "content-length": String(end - start + 1),
      },
    });
  }
  const obj = await c.env.BUCKET.get(key);
  if (!obj) throw new HybridDepthError("RESULT_NOT_READY", "result file missing from storage");
  const [forClient, forCache] = obj.body.tee();
  // The cached copy is public to our own cache only: ownership was checked above, on every request.
  const cached = new Response(forCache, {
    headers: {
      "content-type": spec.type,
      "content-length": String(obj.size),
      "cache-control": "public, max-age=31536000, immutable",
    },
  });
  c.executionCtx.waitUntil(cache.put(cacheKey, cached));
  return new Response(forClient, { headers: { ...headers, "content-length": String(obj.size) } });
});
