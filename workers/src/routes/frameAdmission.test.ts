import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  frameObjects,
  jpegBytes,
  pngBytes,
  sha256,
  signedFrameGet,
  testEnv,
} from "../../test/api.ts";

const TUS = { "tus-resumable": "1.0.0" };
const put = (url: string, body: BodyInit, headers: Record<string, string>) =>
  api(url, { method: "PUT", body, headers, auth: null });

/** The frame as the GPU service would download it (signed GET), and the digest the record keeps. */
async function stored(id: string, index: number, bytes: number) {
  const res = await signedFrameGet(id, index, bytes);
  const body = res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
  const status = (await (await api(`/v1/captures/${id}`)).json()) as {
    frames: { sha256?: string }[];
  };
  return { status: res.status, body, recorded: status.frames[index]!.sha256 };
}

async function tusUpload(id: string, index: number, bytes: Uint8Array) {
  const meta = `captureId ${btoa(id)},frameIndex ${btoa(String(index))},filename ${btoa("f.jpg")}`;
  const created = await api("/v1/tus", {
    method: "POST",
    headers: { ...TUS, "upload-length": String(bytes.byteLength), "upload-metadata": meta },
  });
  expect(created.status).toBe(201);
  return created.headers.get("location")!;
}
const patch = (location: string, body: Uint8Array) =>
  api(location, {
    method: "PATCH",
    body,
    headers: { ...TUS, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
  });

describe("an accepted frame is replaced only by a fully validated new one", () => {
  const good = jpegBytes(600, 41);
  const other = jpegBytes(600, 42);

  it("a re-PUT with bad magic bytes leaves the stored frame and its digest", async () => {
    const created = await createCapture([good, jpegBytes(300)]);
    const u = created.uploads[0]!;
    expect((await put(u.url, good, u.headers)).status).toBe(201);
    const bad = pngBytes(600); // declared image/jpeg, bytes of a PNG
    expect((await put(u.url, bad, u.headers)).status).toBe(415);
    const s = await stored(created.id, 0, 600);
    expect(s.status).toBe(200);
    expect(s.body).toEqual(good);
    expect(s.recorded).toBe(await sha256(good));
  });

  it("a cut-off re-PUT leaves the stored frame and its digest", async () => {
    const created = await createCapture([good, jpegBytes(300)]);
    const u = created.uploads[0]!;
    expect((await put(u.url, good, u.headers)).status).toBe(201);
    // Content-Length says 600; the body ends after 200 bytes (a client gone mid-upload).
    const cut = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(other.subarray(0, 200));
        ctl.close();
      },
    });
    const res = await put(u.url, cut, u.headers);
    expect(res.status).toBe(400);
    const s = await stored(created.id, 0, 600);
    expect(s.body).toEqual(good);
    expect(s.recorded).toBe(await sha256(good));
    expect(await frameObjects(created.id, 0)).toHaveLength(1);
  });

  it("a re-PUT that validates replaces the frame, and the old bytes are gone", async () => {
    const created = await createCapture([good, jpegBytes(300)]);
    const u = created.uploads[0]!;
    expect((await put(u.url, good, u.headers)).status).toBe(201);
    expect((await put(u.url, other, u.headers)).status).toBe(201);
    const s = await stored(created.id, 0, 600);
    expect(s.body).toEqual(other);
    expect(s.recorded).toBe(await sha256(other));
    const objects = { objects: await frameObjects(created.id, 0) };
    expect(objects.objects).toHaveLength(1);
  });

  it("a tus upload with bad magic over a frame stored by PUT leaves it", async () => {
    const created = await createCapture([good, jpegBytes(300)]);
    const u = created.uploads[0]!;
    expect((await put(u.url, good, u.headers)).status).toBe(201);
    const location = await tusUpload(created.id, 0, good);
    const res = await patch(location, pngBytes(600));
    expect(res.status).toBe(415);
    const s = await stored(created.id, 0, 600);
    expect(s.body).toEqual(good);
    expect(s.recorded).toBe(await sha256(good));
  });

  it("a late tus PATCH into a finalized capture is refused and the stored frame is untouched", async () => {
    const frames = [good, jpegBytes(300, 43)];
    const created = await createCapture(frames, {}, ["late-0.jpg", "late-1.jpg"]);
    for (const u of created.uploads)
      expect((await put(u.url, frames[u.index]!, u.headers)).status).toBe(201);
    const location = await tusUpload(created.id, 0, other);
    expect((await api(`/v1/captures/${created.id}/finalize`, { method: "POST" })).status).toBe(202);
    // A first chunk (kept as the upload's tail while the upload is open) and the whole frame:
    // both refused, and nothing of them stored.
    expect((await patch(location, other.subarray(0, 100))).status).toBe(409);
    expect((await patch(location, other)).status).toBe(409);
    const tus = await testEnv.BUCKET.list({ prefix: `captures/${created.id}/tus/` });
    expect(tus.objects).toEqual([]);
    const s = await stored(created.id, 0, 600);
    expect(s.status).toBe(200);
    expect(s.body).toEqual(good);
    expect(s.recorded).toBe(await sha256(good));
  });
});
