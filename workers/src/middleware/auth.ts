import type { MiddlewareHandler } from "hono";
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { sha256Hex } from "#shared/auth/hmac.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { AppEnv, WorkerEnv } from "../env.ts";

/** The key set, built once per isolate for the configured JWKS (or its URL), not per request. */
let cachedJwks: { source: string; set: JWTVerifyGetKey } | undefined;

function jwks(env: WorkerEnv): JWTVerifyGetKey | undefined {
  const source = env.JWT_JWKS || env.JWT_JWKS_URL;
  if (!source) return undefined;
  if (cachedJwks?.source !== source) {
    const set = env.JWT_JWKS
      ? createLocalJWKSet(JSON.parse(env.JWT_JWKS))
      : createRemoteJWKSet(new URL(source));
    cachedJwks = { source, set };
  }
  return cachedJwks.set;
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
      const keys = jwks(env);
      if (!keys) throw new HybridDepthError("UNAUTHORIZED", "JWTs are not accepted here");
      try {
        const { payload } = await jwtVerify(token, keys, {
          ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
          ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
        });
        if (!payload.sub) throw new Error("no subject");
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
    const devKey = env.ENVIRONMENT === "dev" && env.DEV_API_KEY && token === env.DEV_API_KEY;
    if (!accepted.includes(digest) && !devKey)
      throw new HybridDepthError("UNAUTHORIZED", "unknown API key");
    c.set("principal", `key:${digest.slice(0, 16)}`);
    return next();
  };
}
