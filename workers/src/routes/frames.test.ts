import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  frameObjects,
  jpegBytes,
  pngBytes,
  sha256,
  signedFrameGet,
  storedFrame,
  testEnv,
} from "../../test/api.ts";
import { framePath, signUrl } from "../lib/signedUrl.ts";

type ErrorBody = { error: { code: string; message: string } };
const put = (url: string, body: BodyInit, headers: Record<string, string>) =>
  api(url, { method: "PUT", body, headers, auth: null });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as ErrorBody).error.code).toBe(code);
}

describe("signed-URL frame upload", () => {
  it("stores the frame in R2 under its documented key and reports its sha256", async () => {
    const frames = [jpegBytes(4096, 1), pngBytes(2048)];
    const created = await createCapture(frames);
    for (const u of created.uploads) {
      const res = await put(u.url, frames[u.index]!, u.headers);
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({
        index: u.index,
        bytes: frames[u.index]!.byteLength,
        sha256: await sha256(frames[u.index]!),
      });
      const obj = await storedFrame(created.id, u.index);
      expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(frames[u.index]);
    }
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as {
      progress: { framesUploaded: number };
      frames: { sha256: string }[];
    };
    expect(status.progress.framesUploaded).toBe(2);
    expect(status.frames[1]!.sha256).toBe(await sha256(frames[1]!));
  });

  it("refuses missing, forged and expired signatures, and a URL used for another frame", async () => {
    const frames = [jpegBytes(300), jpegBytes(400)];
    const created = await createCapture(frames);
    const u = created.uploads[0]!;
    await expectError(
      await put(u.url.split("?")[0]!, frames[0]!, u.headers),
      403,
      "url_signature_invalid",
    );
    const forged = u.url.replace(/sig=(.)/, (_, ch) => `sig=${ch === "0" ? "1" : "0"}`);
    await expectError(await put(forged, frames[0]!, u.headers), 403, "url_signature_invalid");
    const longer = u.url.replace(/exp=(\d+)/, (_, e) => `exp=${Number(e) + 3600}`);
    await expectError(await put(longer, frames[0]!, u.headers), 403, "url_signature_invalid");
    const otherFrame = u.url.replace(`/${created.id}/0?`, `/${created.id}/1?`);
    await expectError(
      await put(otherFrame, frames[1]!, created.uploads[1]!.headers),
      403,
      "url_signature_invalid",
    );
    const claims = {
      method: "PUT" as const,
      path: `/v1/uploads/${created.id}/0`,
      captureId: created.id,
      index: 0,
      bytes: 300,
      contentType: "image/jpeg",
    };
    const expired = await signUrl(
      testEnv.UPLOAD_SIGNING_KEY,
      "https://edge.test",
      claims,
      Date.now() - 1000,
    );
    await expectError(await put(expired, frames[0]!, u.headers), 403, "url_expired");
    expect(await frameObjects(created.id, 0)).toEqual([]);
  });

  it("refuses a wrong length, a wrong Content-Type and bytes that are not the declared image type", async () => {
    const frames = [jpegBytes(300), jpegBytes(400)];
    const created = await createCapture(frames);
    const u = created.uploads[0]!;
    await expectError(
      await put(u.url, jpegBytes(301), { "content-type": "image/jpeg" }),
      400,
      "length_mismatch",
    );
    await expectError(
      await put(u.url, frames[0]!, { "content-type": "image/png" }),
      415,
      "content_type_mismatch",
    );
    const png = pngBytes(300);
    await expectError(await put(u.url, png, u.headers), 415, "content_type_mismatch");
    // A streamed body without Content-Length: signed PUTs need a length (tus takes streams).
    const short = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(frames[0]!.subarray(0, 200));
        ctl.close();
      },
    });
    await expectError(
      await put(u.url, short, { "content-type": "image/jpeg" }),
      411,
      "length_required",
    );
    expect(await frameObjects(created.id, 0)).toEqual([]);
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as {
      progress: { framesUploaded: number };
    };
    expect(status.progress.framesUploaded).toBe(0);
  });

  it("refuses uploads once the capture is finalized", async () => {
    const frames = [jpegBytes(300), jpegBytes(400)];
    const created = await createCapture(frames, { depthRange: { min: 0.1, max: 9.5 } });
    for (const u of created.uploads)
      expect((await put(u.url, frames[u.index]!, u.headers)).status).toBe(201);
    expect([200, 202]).toContain(
      (await api(`/v1/captures/${created.id}/finalize`, { method: "POST" })).status,
    );
    const u = created.uploads[0]!;
    await expectError(await put(u.url, frames[0]!, u.headers), 409, "capture_not_uploading");
  });

  it("serves a frame back only on a signed GET URL (the GPU service's)", async () => {
    const frames = [jpegBytes(777), jpegBytes(400)];
    const created = await createCapture(frames);
    await put(created.uploads[0]!.url, frames[0]!, created.uploads[0]!.headers);
    const path = framePath(created.id, 0);
    await expectError(await api(path, { auth: null }), 403, "url_signature_invalid");
    const res = await signedFrameGet(created.id, 0, 777);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(frames[0]);
    // The PUT URL's signature does not open the GET.
    await expectError(
      await api(created.uploads[0]!.url.replace("/v1/uploads/", "/v1/frames/"), { auth: null }),
      403,
      "url_signature_invalid",
    );
  });
});
