import type { MiddlewareHandler } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv } from "../env.ts";

/**
 * Per-principal rate limit with the Workers rate-limiting binding (wrangler.toml
 * `[[ratelimits]]`); runs after authentication so each API key or JWT subject has its own budget.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    if (c.req.method === "OPTIONS") return next();
    const { success } = await c.env.API_RATE_LIMIT.limit({ key: c.get("principal") });
    if (!success) {
      c.header("Retry-After", "60");
      throw new HybridDepthError(
        "RATE_LIMITED",
        "too many requests for this API key; retry after a minute",
      );
    }
    return next();
  };
}
