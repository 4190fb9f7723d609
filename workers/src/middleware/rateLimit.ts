import type { Context, MiddlewareHandler } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv } from "../env.ts";

/**
 * One request against `limiter`'s budget for `key` (the Workers rate-limiting binding,
 * wrangler.toml `[[ratelimits]]`, 60 s periods); past it: 429 `rate_limited` with Retry-After.
 */
export async function spendRequest(
  c: Context<AppEnv>,
  limiter: RateLimit,
  key: string,
  whose: string,
): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (success) return;
  c.header("Retry-After", "60");
  throw new HybridDepthError(
    "RATE_LIMITED",
    `too many requests for ${whose}; retry after a minute`,
  );
}

/**
 * Per-principal rate limit on the authenticated API; runs after authentication so each API key
 * or JWT subject has its own budget.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    if (c.req.method === "OPTIONS") return next();
    await spendRequest(c, c.env.API_RATE_LIMIT, c.get("principal"), "this API key");
    return next();
  };
}
