import { runDurableObjectAlarm } from "cloudflare:test";
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
  waitForState,
} from "../../test/api.ts";

const stubOf = (id: string) => testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(id));
const TUS = { "tus-resumable": "1.0.0" };
type ErrorBody = { error: { code: string; message: string } };

const keys = async (prefix: string) =>
  (await testEnv.BUCKET.list({ prefix })).objects.map((o) => o.key);

async function finishedCapture(files: string[], seed: number) {
  const frames = files.map((_, i) => jpegBytes(500 + i * 10, seed));
  const created = await createCapture(frames, {}, files);
  await uploadAll(created, frames);
  await api(`/v1/captures/${created.id}/finalize`, { method: "POST" });
  expect((await waitForState(created.id, ["done", "failed"])).state).toBe("done");
  return created.id;
}

describe("capture expiry and result retention (the capture's alarm)", () => {
  it("an unfinalized capture expires: record, frames and tus uploads go, its owner sees 410", async () => {
    const frames = [jpegBytes(600, 41), jpegBytes(610, 41)];
    const created = await createCapture(frames);
    const id = created.id;
    const put = created.uploads[0]!;
    const res = await api(put.url, {
      method: "PUT",
      body: frames[0],
      headers: put.headers,
      auth: null,
    });
    expect(res.status).toBe(201);
    // Frame 1 half-sent through tus: a tail object and an R2 multipart upload.
    const tus = await api("/v1/tus", {
      method: "POST",
      headers: {
        ...TUS,
        "upload-length": String(frames[1]!.byteLength),
        "upload-metadata": `captureId ${btoa(id)},frameIndex ${btoa("1")}`,
      },
    });
    expect(tus.status).toBe(201);
    const location = tus.headers.get("location")!;
    const patched = await api(location, {
      method: "PATCH",
      body: frames[1]!.slice(0, 100),
      headers: {
        ...TUS,
        "upload-offset": "0",
        "content-type": "application/offset+octet-stream",
      },
    });
    expect(patched.status).toBe(204);
    expect((await keys(`captures/${id}/`)).length).toBe(2);

    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);

    const gone = await api(`/v1/captures/${id}`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as ErrorBody).error.code).toBe("capture_expired");
    expect(await keys(`captures/${id}/`)).toEqual([]);
    expect((await api(location, { method: "HEAD", headers: TUS })).status).toBe(404);
    // Another principal learns nothing: the same 404 as for an id never used.
    const other = await api(`/v1/captures/${id}`, { auth: await signJwt("someone-else") });
    expect(other.status).toBe(404);
  });

  it("a finished capture's result is kept for the retention, then removed as DELETE removes it", async () => {
    const first = await finishedCapture(["keep-0.jpg", "keep-1.jpg"], 42);
    const second = await finishedCapture(["keep-0.jpg", "keep-1.jpg"], 42); // a cache hit
    const prefix = (await stubOf(second).get())!.resultPrefix!;
    expect((await stubOf(first).get())!.resultPrefix).toBe(prefix);

    // The first capture's retention ends: the second still uses the shared result.
    expect(await runDurableObjectAlarm(stubOf(first))).toBe(true);
    expect((await api(`/v1/captures/${first}`)).status).toBe(410);
    const depth = await api(`/v1/captures/${second}/depth?format=f32`);
    expect(depth.status).toBe(200);
    await depth.arrayBuffer();
    expect(await keys(`${prefix}refs/`)).toEqual([`${prefix}refs/${second}`]);

    // The last user's retention ends: the tenant's result goes too.
    expect(await runDurableObjectAlarm(stubOf(second))).toBe(true);
    expect((await api(`/v1/captures/${second}`)).status).toBe(410);
    expect(await keys(prefix)).toEqual([]);
    expect(await keys(`captures/${second}/`)).toEqual([]);
  });

  it("a capture recreated after expiry (same Idempotency-Key) starts afresh", async () => {
    const meta = captureMeta([{ bytes: 300 }, { bytes: 310 }]);
    const create = () =>
      postJson("/v1/captures", meta, { headers: { "idempotency-key": "expiry-recreate-1" } });
    const a = await create();
    expect(a.status).toBe(201);
    const { id } = (await a.json()) as { id: string };
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    expect((await api(`/v1/captures/${id}`)).status).toBe(410);
    const b = await create();
    expect(b.status).toBe(201);
    expect(((await b.json()) as { id: string }).id).toBe(id);
    expect((await api(`/v1/captures/${id}`)).status).toBe(200);
    expect((await stubOf(id).get())!.generation).toBe(2);
  });

  it("a DELETE that stops once the record is gone: the capture's alarm frees the rest", async () => {
    const frames = [jpegBytes(620, 44), jpegBytes(630, 44)];
    const created = await createCapture(frames);
    await uploadAll(created, frames);
    const id = created.id;
    expect((await keys(`captures/${id}/`)).length).toBe(2);
    // DELETE's first step only, as if its request died right after it.
    expect(await stubOf(id).destroy()).toBeDefined();
    expect((await api(`/v1/captures/${id}`)).status).toBe(404);
    expect((await keys(`captures/${id}/`)).length).toBe(2);
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    expect(await keys(`captures/${id}/`)).toEqual([]);
    // A DELETE that completes leaves no alarm behind.
    const other = await createCapture(frames);
    await uploadAll(other, frames);
    expect((await api(`/v1/captures/${other.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await keys(`captures/${other.id}/`)).toEqual([]);
    expect(await runDurableObjectAlarm(stubOf(other.id))).toBe(false);
  });
});
