import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { api, createCapture, jpegBytes, signJwt } from "../../test/api.ts";

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

describe("rate limit", () => {
  it("answers 429 with Retry-After once a principal spends its budget, and only for that principal", async () => {
    const token = await signJwt(`greedy-${crypto.randomUUID()}`);
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
