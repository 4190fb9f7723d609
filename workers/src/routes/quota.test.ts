import { createExecutionContext, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_FRAME_BYTES } from "#shared/service/uploadSchema.ts";
import { api, type Created, captureMeta, jpegBytes, signJwt, testEnv } from "../../test/api.ts";
import { createApp } from "../app.ts";

type ErrorBody = { error: { code: string; message: string } };

// The suite's bindings lift the quotas (vitest.config.mts): creates here run the worker's app
// with the defaults instead.
const withDefaults = {
  ...testEnv,
  MAX_OPEN_CAPTURES_PER_PRINCIPAL: undefined,
  MAX_STORED_BYTES_PER_PRINCIPAL: undefined,
};
const app = createApp();

function createWithDefaults(auth: string, frames: { bytes: number }[], headers = {}) {
  const req = new Request("https://edge.test/v1/captures", {
    method: "POST",
    body: JSON.stringify(captureMeta(frames)),
    headers: { "content-type": "application/json", authorization: `Bearer ${auth}`, ...headers },
  });
  return app.fetch(req, withDefaults, createExecutionContext());
}
const create = (auth: string, frames: { bytes: number }[]) => createWithDefaults(auth, frames);

const small = [{ bytes: 300 }, { bytes: 310 }];

describe("per-principal quotas", () => {
  it("at most 20 open captures, even when created at once; finalize, DELETE and expiry free a slot", async () => {
    const auth = await signJwt(`quota-open-${crypto.randomUUID()}`);
    const answers = await Promise.all(Array.from({ length: 25 }, () => create(auth, small)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const refused = answers.find((r) => r.status === 429)!;
    expect(((await refused.json()) as ErrorBody).error).toEqual({
      code: "too_many_open_captures",
      message: "20 unfinalized captures, the limit is 20: finalize or delete one first",
    });
    const created = await Promise.all(
      answers.filter((r) => r.status === 201).map((r) => r.json() as Promise<Created>),
    );
    expect((await create(auth, small)).status).toBe(429);

    // DELETE frees a slot.
    expect((await api(`/v1/captures/${created[0]!.id}`, { method: "DELETE", auth })).status).toBe(
      204,
    );
    expect((await create(auth, small)).status).toBe(201);
    expect((await create(auth, small)).status).toBe(429);

    // Finalize frees one (the capture is no longer open).
    const c = created[1]!;
    const bytes = [jpegBytes(300, 51), jpegBytes(310, 51)];
    for (const u of c.uploads)
      expect(
        (await api(u.url, { method: "PUT", body: bytes[u.index], headers: u.headers, auth: null }))
          .status,
      ).toBe(201);
    expect((await api(`/v1/captures/${c.id}/finalize`, { method: "POST", auth })).status).toBe(202);
    expect((await create(auth, small)).status).toBe(201);
    expect((await create(auth, small)).status).toBe(429);

    // Expiry frees one.
    const stub = testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(created[2]!.id));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await create(auth, small)).status).toBe(201);
    expect((await create(auth, small)).status).toBe(429);
  });

  it("declared frame bytes stay within 2 GiB per principal (413), and DELETE gives them back", async () => {
    const auth = await signJwt(`quota-bytes-${crypto.randomUUID()}`);
    const big = Array.from({ length: 16 }, () => ({ bytes: MAX_FRAME_BYTES })); // 2 GiB in all
    const first = await create(auth, big);
    expect(first.status).toBe(201);
    const over = await create(auth, small);
    expect(over.status).toBe(413);
    expect(((await over.json()) as ErrorBody).error).toEqual({
      code: "storage_quota_exceeded",
      message: `this capture declares 610 bytes; ${2 * 1024 ** 3} of ${2 * 1024 ** 3} are held already: delete captures to free them`,
    });
    // Another principal is not affected.
    expect((await create(await signJwt(`quota-other-${crypto.randomUUID()}`), small)).status).toBe(
      201,
    );
    const { id } = (await first.json()) as Created;
    expect((await api(`/v1/captures/${id}`, { method: "DELETE", auth })).status).toBe(204);
    expect((await create(auth, small)).status).toBe(201);
  });

  it("a retried create (same Idempotency-Key) holds nothing more", async () => {
    const sub = `quota-retry-${crypto.randomUUID()}`;
    const auth = await signJwt(sub);
    const headers = { "idempotency-key": "quota-retry" };
    for (let i = 0; i < 25; i++) {
      const res = await createWithDefaults(auth, small, headers);
      expect(res.status).toBe(i === 0 ? 201 : 200);
    }
    const quota = testEnv.QUOTAS.get(testEnv.QUOTAS.idFromName(`jwt:${sub}`));
    expect(await quota.usage()).toEqual({ open: 1, bytes: 610 });
  });
});
