import { describe, expect, it } from "vitest";
import {
  api,
  captureMeta,
  createCapture,
  jpegBytes,
  postJson,
  signJwt,
  testEnv,
  uploadAll,
} from "../../test/api.ts";

type ErrorBody = { error: { code: string; message: string } };

describe("POST /v1/captures", () => {
  it("answers 201 with one signed PUT URL per frame and the tus endpoint", async () => {
    const frames = [jpegBytes(1000), jpegBytes(2000), jpegBytes(3000)];
    const created = await createCapture(frames);
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.state).toBe("uploading");
    expect(created.tus.endpoint).toBe("https://edge.test/v1/tus");
    expect(created.uploads.map((u) => u.index)).toEqual([0, 1, 2]);
    for (const u of created.uploads) {
      expect(u.method).toBe("PUT");
      expect(u.url).toMatch(
        new RegExp(
          `^https://edge.test/v1/uploads/${created.id}/${u.index}\\?exp=\\d+&sig=[0-9a-f]{64}$`,
        ),
      );
      expect(u.headers).toEqual({
        "content-type": "image/jpeg",
        "content-length": String(frames[u.index]!.byteLength),
      });
      const ttl = Date.parse(u.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(Number(testEnv.UPLOAD_URL_TTL_SECONDS) * 1000);
    }
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({
      id: created.id,
      state: "uploading",
      progress: { framesUploaded: 0, framesTotal: 3 },
      attempts: 0,
    });
  });

  const good = captureMeta([{ bytes: 10 }, { bytes: 10 }]);
  const cases: [string, unknown, RegExp][] = [
    ["no version", { ...good, version: undefined }, /version/],
    ["one frame", captureMeta([{ bytes: 10 }]), /at least 2 frames/],
    [
      "65 frames",
      captureMeta(Array.from({ length: 65 }, () => ({ bytes: 10 }))),
      /at most 64 frames/,
    ],
    [
      "duplicate focus",
      { ...good, frames: good.frames.map((f) => ({ ...f, focusDistance: 0.5 })) },
      /duplicate focusDistance/,
    ],
    [
      "negative focus",
      { ...good, frames: [{ ...good.frames[0]!, focusDistance: -1 }, good.frames[1]] },
      /focusDistance/,
    ],
    [
      "zero bytes",
      { ...good, frames: [{ ...good.frames[0]!, bytes: 0 }, good.frames[1]] },
      /bytes must be > 0/,
    ],
    [
      "oversized frame",
      { ...good, frames: [{ ...good.frames[0]!, bytes: 2 ** 31 }, good.frames[1]] },
      /bytes must be at most/,
    ],
    [
      "gif",
      { ...good, frames: [{ ...good.frames[0]!, contentType: "image/gif" }, good.frames[1]] },
      /contentType must be/,
    ],
    ["bad unit", { ...good, focusUnit: "feet" }, /focusUnit/],
    ["reference out of range", { ...good, reference: 5 }, /reference 5/],
    ["bad stage", { ...good, options: { stage: "magic" } }, /stage/],
    ["not an object", [1, 2, 3], /expected object|Invalid input/i],
  ];
  it.each(cases)(
    "refuses bad metadata (%s) with 400 invalid_capture and a precise message",
    async (_name, body, message) => {
      const res = await postJson("/v1/captures", body);
      expect(res.status).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_capture");
      expect(err.message).toMatch(message);
    },
  );

  it("refuses a body that is not JSON, and an oversized one", async () => {
    const res = await api("/v1/captures", {
      method: "POST",
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_capture");
    const big = await postJson("/v1/captures", { ...good, pad: "x".repeat(100_000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as ErrorBody).error.code).toBe("payload_too_large");
  });
});

describe("POST /v1/captures with an Idempotency-Key", () => {
  it("answers a retry with the same capture, and refuses the key for other metadata", async () => {
    const meta = captureMeta([{ bytes: 100 }, { bytes: 200 }]);
    const key = { "idempotency-key": `create-${crypto.randomUUID()}` };
    const first = await postJson("/v1/captures", meta, { headers: key });
    expect(first.status).toBe(201);
    const a = (await first.json()) as { id: string; uploads: unknown[] };
    const again = await postJson("/v1/captures", meta, { headers: key });
    expect(again.status).toBe(200);
    const b = (await again.json()) as { id: string; uploads: unknown[] };
    expect(b.id).toBe(a.id);
    expect(b.uploads).toHaveLength(2);
    const other = await postJson("/v1/captures", captureMeta([{ bytes: 100 }, { bytes: 201 }]), {
      headers: key,
    });
    expect(other.status).toBe(422);
    expect(((await other.json()) as ErrorBody).error.code).toBe("idempotency_key_reused");
    // Another principal with the same key gets its own capture.
    const jwt = await signJwt(`idem-${crypto.randomUUID()}`);
    const theirs = await postJson("/v1/captures", meta, { headers: key, auth: jwt });
    expect(theirs.status).toBe(201);
    expect(((await theirs.json()) as { id: string }).id).not.toBe(a.id);
  });
});

describe("GET and DELETE /v1/captures/:id", () => {
  it("answers 404 for unknown and malformed ids", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "..%2F..%2Fetc", "abc"]) {
      const res = await api(`/v1/captures/${id}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code).toBe("capture_not_found");
    }
  });

  it("DELETE removes the frames and the record", async () => {
    const frames = [jpegBytes(500), jpegBytes(600)];
    const created = await createCapture(frames);
    await uploadAll(created, frames);
    expect((await testEnv.BUCKET.list({ prefix: `captures/${created.id}/` })).objects).toHaveLength(
      2,
    );
    expect((await api(`/v1/captures/${created.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await testEnv.BUCKET.list({ prefix: `captures/${created.id}/` })).objects).toHaveLength(
      0,
    );
    expect((await api(`/v1/captures/${created.id}`)).status).toBe(404);
    // The signed URLs died with it.
    const again = await api(created.uploads[0]!.url, {
      method: "PUT",
      body: frames[0],
      headers: created.uploads[0]!.headers,
      auth: null,
    });
    expect(again.status).toBe(403);
  });
});

describe("POST /v1/captures/:id/finalize", () => {
  it("refuses to finalize before every frame is uploaded, naming the missing ones", async () => {
    const frames = [jpegBytes(100), jpegBytes(200), jpegBytes(300)];
    const created = await createCapture(frames);
    const u = created.uploads[1]!;
    expect(
      (await api(u.url, { method: "PUT", body: frames[1], headers: u.headers, auth: null })).status,
    ).toBe(201);
    const res = await api(`/v1/captures/${created.id}/finalize`, { method: "POST" });
    expect(res.status).toBe(409);
    const err = ((await res.json()) as ErrorBody).error;
    expect(err).toEqual({ code: "frames_missing", message: "frames not uploaded yet: 0, 2" });
  });

  it("refuses a malformed Idempotency-Key", async () => {
    const frames = [jpegBytes(100), jpegBytes(200)];
    const created = await createCapture(frames);
    const res = await api(`/v1/captures/${created.id}/finalize`, {
      method: "POST",
      headers: { "idempotency-key": "x".repeat(300) },
    });
    expect(res.status).toBe(400);
  });
});
