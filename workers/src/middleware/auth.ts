import type { MiddlewareHandler } from "hono";
import { type JWTPayload, jwtVerify } from "jose";
import { sha256Hex } from "#shared/auth/hmac.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv } from "../env.ts";
import { type AuthConfig, authConfig } from "./authConfig.ts";

const encoder = new TextEncoder();

/** Equal-length hex digests compared in constant time (workerd's crypto.subtle.timingSafeEqual). */
function digestEquals(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/**
 * What jose leaves to us: a token must expire, live no longer than the configured lifetime,
 * and not be issued in the future (jose checks iat only together with maxTokenAge).
 */
function checkLifetime(p: JWTPayload, cfg: AuthConfig, now = Math.floor(Date.now() / 1000)): void {
  const exp = p.exp!; // required by jwtVerify's requiredClaims
  if (p.iat !== undefined && p.iat > now + cfg.skewSeconds)
    throw new Error('"iat" is in the future');
  const lifetime = p.iat !== undefined ? exp - p.iat : exp - now;
  if (lifetime > cfg.maxLifetimeSeconds || exp - now > cfg.maxLifetimeSeconds + cfg.skewSeconds)
    throw new Error(`lifetime over ${cfg.maxLifetimeSeconds} s`);
}

/**
 * `Authorization: Bearer <token>`: an API key (only its sha256 is configured, never the key),
 * or a JWT verified with jose against the configured JWKS, issuer and audience. Sets the
 * principal that owns what the request creates.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    if (c.req.method === "OPTIONS") return next(); // CORS preflight and tus discovery
    const m = /^Bearer ([\x21-\x7e]{8,4096})$/.exec(c.req.header("authorization") ?? "");
    if (!m)
      throw new HybridDepthError("UNAUTHORIZED", "Authorization: Bearer <API key or JWT> required");
    const token = m[1]!;
    const env = c.env;
    if (token.split(".").length === 3) {
      const cfg = authConfig(env);
      if (!cfg.jwks) throw new HybridDepthError("UNAUTHORIZED", "JWTs are not accepted here");
      try {
        const { payload } = await jwtVerify(token, cfg.jwks, {
          requiredClaims: ["exp", "sub"],
          clockTolerance: cfg.skewSeconds,
          ...(cfg.issuer ? { issuer: cfg.issuer } : {}),
          ...(cfg.audience ? { audience: cfg.audience } : {}),
        });
        checkLifetime(payload, cfg);
        c.set("principal", `jwt:${payload.sub}`);
      } catch (e) {
        throw new HybridDepthError("UNAUTHORIZED", `invalid token (${(e as Error).message})`);
      }
      return next();
    }
    const digest = await sha256Hex(token);
    const accepted = (env.API_KEY_HASHES ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    // Every configured digest is compared (no early exit), each in constant time.
    let known = accepted.reduce((hit, d) => digestEquals(d, digest) || hit, false);
    if (env.ENVIRONMENT === "dev" && env.DEV_API_KEY)
      known = digestEquals(await sha256Hex(env.DEV_API_KEY), digest) || known;
    if (!known) throw new HybridDepthError("UNAUTHORIZED", "unknown API key");
    c.set("principal", `key:${digest.slice(0, 16)}`);
    return next();
  };
}
