import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * `/metrics` for Prometheus, which cannot sign requests: `Authorization: Bearer <METRICS_TOKEN>`
 * (compared in constant time) is accepted in place of the HMAC signature; anything else falls
 * through to `signed` (the signature check).
 */
export function metricsAuth(
  token: string | undefined,
  signed: MiddlewareHandler,
): MiddlewareHandler {
  const expected = token ? digest(token) : undefined;
  return async function metricsAuth(c, next) {
    const m = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "");
    if (expected && m && timingSafeEqual(digest(m[1]!), expected)) return next();
    return signed(c, next);
  };
}
