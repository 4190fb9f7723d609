import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import type { WorkerEnv } from "../env.ts";

/** The worker's JWT settings, checked once: a bad one stops the worker from starting. */
export interface AuthConfig {
  /** Undefined: JWTs are not accepted (API keys only). */
  jwks?: JWTVerifyGetKey;
  issuer?: string;
  audience?: string;
  /** Longest accepted token lifetime (exp − iat, and exp − now), seconds. */
  maxLifetimeSeconds: number;
  /** Clock skew tolerated on exp, nbf and iat, seconds. */
  skewSeconds: number;
}

/** A configuration the worker must not run with; thrown at startup (see index.ts). */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
export const DEFAULT_JWT_CLOCK_SKEW_SECONDS = 60;

function seconds(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n > max)
    throw new ConfigError(`${name} must be a whole number of seconds up to ${max} (got ${value})`);
  return n;
}

type AuthVars = Pick<
  WorkerEnv,
  | "ENVIRONMENT"
  | "JWT_JWKS"
  | "JWT_JWKS_URL"
  | "JWT_ISSUER"
  | "JWT_AUDIENCE"
  | "JWT_MAX_LIFETIME_SECONDS"
  | "JWT_CLOCK_SKEW_SECONDS"
>;

/** Parses and checks the JWT settings; throws ConfigError naming what is wrong. */
export function parseAuthConfig(env: AuthVars): AuthConfig {
  const maxLifetimeSeconds = seconds(
    env.JWT_MAX_LIFETIME_SECONDS,
    "JWT_MAX_LIFETIME_SECONDS",
    DEFAULT_JWT_MAX_LIFETIME_SECONDS,
    7 * 24 * 60 * 60,
  );
  const skewSeconds = seconds(
    env.JWT_CLOCK_SKEW_SECONDS,
    "JWT_CLOCK_SKEW_SECONDS",
    DEFAULT_JWT_CLOCK_SKEW_SECONDS,
    300,
  );
  const base = { maxLifetimeSeconds, skewSeconds };
  if (!env.JWT_JWKS && !env.JWT_JWKS_URL) return base;
  let jwks: JWTVerifyGetKey;
  if (env.JWT_JWKS) {
    try {
      jwks = createLocalJWKSet(JSON.parse(env.JWT_JWKS));
    } catch (e) {
      throw new ConfigError(`JWT_JWKS is not a JSON Web Key Set (${(e as Error).message})`);
    }
  } else {
    let url: URL;
    try {
      url = new URL(env.JWT_JWKS_URL!);
    } catch {
      throw new ConfigError(`JWT_JWKS_URL is not a URL (${env.JWT_JWKS_URL})`);
    }
    if (env.ENVIRONMENT !== "dev" && url.protocol !== "https:")
      throw new ConfigError(`JWT_JWKS_URL must be https in ${env.ENVIRONMENT}`);
    jwks = createRemoteJWKSet(url);
  }
  // Outside dev, a token from any issuer or for any audience signed by a trusted key must not pass.
  if (env.ENVIRONMENT !== "dev" && (!env.JWT_ISSUER || !env.JWT_AUDIENCE))
    throw new ConfigError(`JWT_ISSUER and JWT_AUDIENCE are required in ${env.ENVIRONMENT}`);
  return {
    ...base,
    jwks,
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
  };
}

/** Parsed once per isolate (per distinct settings), never per request. */
let cached: { fingerprint: string; config: AuthConfig } | undefined;

export function authConfig(env: AuthVars): AuthConfig {
  const fingerprint = JSON.stringify([
    env.ENVIRONMENT,
    env.JWT_JWKS,
    env.JWT_JWKS_URL,
    env.JWT_ISSUER,
    env.JWT_AUDIENCE,
    env.JWT_MAX_LIFETIME_SECONDS,
    env.JWT_CLOCK_SKEW_SECONDS,
  ]);
  if (cached?.fingerprint !== fingerprint) cached = { fingerprint, config: parseAuthConfig(env) };
  return cached.config;
}
