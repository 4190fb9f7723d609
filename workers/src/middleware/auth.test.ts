import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  jpegBytes,
  signJwt,
  startOfRateWindow,
  testEnv,
} from "../../test/api.ts";
import { ConfigError, parseAuthConfig } from "./authConfig.ts";

const UNKNOWN = "/v1/captures/00000000-0000-4000-8000-000000000000";

async function errorOf(res: Response) {
  return {
    status: res.status,
    code: ((await res.json()) as { error: { code: string } }).error.code,
  };
}

describe("authentication", () => {
  it("refuses requests without credentials, with malformed ones and with unknown API keys", async () => {
    expect(await errorOf(await api(UNKNOWN, { auth: null }))).toEqual({
      status: 401,
      code: "unauthorized",
    });
    expect(await errorOf(await api(UNKNOWN, { headers: { authorization: "Basic abc" } }))).toEqual({
      status: 401,
      code: "unauthorized",
    });
    expect(await errorOf(await api(UNKNOWN, { auth: "not-a-known-key-123" }))).toEqual({
      status: 401,
      code: "unauthorized",
    });
  });

  it("accepts a configured API key (only its sha256 is configured)", async () => {
    expect(await errorOf(await api(UNKNOWN))).toEqual({ status: 404, code: "capture_not_found" });
  });

  it("accepts a JWT from the configured issuer and audience, and refuses other ones", async () => {
    expect(await errorOf(await api(UNKNOWN, { auth: await signJwt("user-1") }))).toEqual({
      status: 404,
      code: "capture_not_found",
    });
    for (const token of [
      await signJwt("user-1", { aud: "someone-else" }),
      await signJwt("user-1", { iss: "https://evil.test" }),
      await signJwt("user-1", { exp: Math.floor(Date.now() / 1000) - 60 }),
    ]) {
      expect(await errorOf(await api(UNKNOWN, { auth: token }))).toEqual({
        status: 401,
        code: "unauthorized",
      });
    }
    // Signed by a key the worker does not trust.
    const other = await generateKeyPair("ES256", { extractable: true });
    const forged = await signJwt("user-1", {}, JSON.stringify(await exportJWK(other.privateKey)));
    const res = await api(UNKNOWN, { auth: forged });
    expect(res.status).toBe(401);
  });

  it("keeps captures private to the principal that created them", async () => {
    const created = await createCapture([jpegBytes(100), jpegBytes(120)]);
    expect((await api(`/v1/captures/${created.id}`)).status).toBe(200);
    const other = await api(`/v1/captures/${created.id}`, { auth: await signJwt("someone-else") });
    expect(await errorOf(other)).toEqual({ status: 404, code: "capture_not_found" });
    expect(
      (
        await api(`/v1/captures/${created.id}`, {
          method: "DELETE",
          auth: await signJwt("someone-else"),
        })
      ).status,
    ).toBe(404);
  });
});

/** A JWT from the trusted test key with exactly these claims (no defaults added). */
async function rawJwt(claims: Record<string, unknown>): Promise<string> {
  const key = await importJWK(JSON.parse(testEnv.TEST_JWT_PRIVATE_JWK), "ES256");
  return new SignJWT({ iss: "https://auth.test", aud: "hybriddepth", sub: "user-1", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "test" })
    .sign(key);
}

describe("JWT lifetime", () => {
  const now = Math.floor(Date.now() / 1000);
  const HOUR = 3600;

  it("refuses a JWT without exp, issued in the future, not yet valid, or living past 24 h", async () => {
    const refused = {
      "no exp": await rawJwt({ iat: now }),
      "iat a year ahead": await rawJwt({ iat: now + 365 * 24 * HOUR, exp: now + 366 * 24 * HOUR }),
      "iat 10 min ahead": await rawJwt({ iat: now + 600, exp: now + 1200 }),
      "nbf 10 min ahead": await rawJwt({ iat: now, nbf: now + 600, exp: now + HOUR }),
      "exp a century away": await rawJwt({ iat: now, exp: now + 100 * 365 * 24 * HOUR }),
      "exp a century away, no iat": await rawJwt({ exp: now + 100 * 365 * 24 * HOUR }),
      "25 h lifetime": await rawJwt({ iat: now - HOUR, exp: now + 24 * HOUR }),
    };
    for (const [what, token] of Object.entries(refused))
      expect(await errorOf(await api(UNKNOWN, { auth: token })), what).toEqual({
        status: 401,
        code: "unauthorized",
      });
  });

  it("accepts a token within the lifetime and the clock skew", async () => {
    for (const token of [
      await rawJwt({ iat: now, exp: now + 24 * HOUR }),
      await rawJwt({ iat: now + 30, exp: now + HOUR }), // 30 s of skew
      await rawJwt({ exp: now + HOUR }),
    ])
      expect(await errorOf(await api(UNKNOWN, { auth: token }))).toEqual({
        status: 404,
        code: "capture_not_found",
      });
  });
});

describe("auth configuration (checked at startup)", () => {
  const jwks = JSON.stringify({ keys: [] });
  const good = { JWT_JWKS: jwks, JWT_ISSUER: "https://auth.test", JWT_AUDIENCE: "hd" };

  it("refuses staging and production without issuer and audience", () => {
    for (const ENVIRONMENT of ["staging", "production"] as const) {
      expect(() => parseAuthConfig({ ENVIRONMENT, JWT_JWKS: jwks })).toThrow(ConfigError);
      expect(() =>
        parseAuthConfig({ ENVIRONMENT, JWT_JWKS: jwks, JWT_ISSUER: "https://auth.test" }),
      ).toThrow(/JWT_ISSUER and JWT_AUDIENCE are required/);
      expect(parseAuthConfig({ ENVIRONMENT, ...good }).issuer).toBe("https://auth.test");
    }
    expect(parseAuthConfig({ ENVIRONMENT: "dev", JWT_JWKS: jwks }).jwks).toBeDefined();
  });

  it("a malformed JWT_JWKS, JWKS URL or lifetime is a configuration error", () => {
    for (const bad of ["{not json", '{"keys": 3}', "[]"])
      expect(() => parseAuthConfig({ ENVIRONMENT: "dev", JWT_JWKS: bad })).toThrow(
        /JWT_JWKS is not a JSON Web Key Set/,
      );
    expect(() => parseAuthConfig({ ENVIRONMENT: "dev", JWT_JWKS_URL: "nope" })).toThrow(
      ConfigError,
    );
    expect(() =>
      parseAuthConfig({
        ENVIRONMENT: "production",
        ...good,
        JWT_JWKS: undefined,
        JWT_JWKS_URL: "http://keys.test/jwks",
      }),
    ).toThrow(/https/);
    expect(() =>
      parseAuthConfig({ ENVIRONMENT: "dev", JWT_MAX_LIFETIME_SECONDS: "forever" }),
    ).toThrow(ConfigError);
    expect(parseAuthConfig({ ENVIRONMENT: "dev" })).toEqual({
      maxLifetimeSeconds: 86400,
      skewSeconds: 60,
    });
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a principal spends its budget, and only for that principal", async () => {
    const token = await signJwt(`greedy-${crypto.randomUUID()}`);
    await startOfRateWindow(20_000);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 320 && !limited; i++) {
      const res = await api(UNKNOWN, { auth: token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.body?.cancel();
    }
    expect(limited, "no 429 within 320 requests (limit 300/min in tests)").toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe(
      "rate_limited",
    );
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThanOrEqual(250);
    // Another principal still gets through.
    expect(
      (await api(UNKNOWN, { auth: await signJwt(`calm-${crypto.randomUUID()}`) })).status,
    ).toBe(404);
  });
});
