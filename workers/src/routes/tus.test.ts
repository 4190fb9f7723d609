import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  frameObjects,
  jpegBytes,
  pngBytes,
  sha256,
  storedFrame,
  testEnv,
} from "../../test/api.ts";
import { frameKey } from "../lib/r2Keys.ts";
import type { TusUpload, UploadObject } from "../uploadObject.ts";
import { parseUploadMetadata } from "./tus.ts";

const MIB = 1024 * 1024;
const TUS = { "tus-resumable": "1.0.0" };
type ErrorBody = { error: { code: string; message: string } };

const b64 = (s: string) => btoa(s);
const metadata = (captureId: string, frameIndex: number) =>
  `captureId ${b64(captureId)},frameIndex ${b64(String(frameIndex))},filename ${b64("f.jpg")}`;

async function createUpload(
  captureId: string,
  index: number,
  length: number,
  headers: Record<string, string> = {},
) {
  return api("/v1/tus", {
    method: "POST",
    headers: {
      ...TUS,
      "upload-length": String(length),
      "upload-metadata": metadata(captureId, index),
      ...headers,
    },
  });
}

const patch = (
  location: string,
  offset: number,
  body: BodyInit,
  headers: Record<string, string> = {},
) =>
  api(location, {
    method: "PATCH",
    body,
    headers: {
      ...TUS,
      "upload-offset": String(offset),
      "content-type": "application/offset+octet-stream",
      ...headers,
    },
  });

const head = (location: string) => api(location, { method: "HEAD", headers: TUS });

function uploadObject(location: string) {
  return testEnv.UPLOADS.get(testEnv.UPLOADS.idFromName(location.split("/").pop()!));
}

/** A body of unknown length that stops after `bytes`: what the worker sees when a client goes away mid-PATCH. */
function cutBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(ctl) {
      for (let i = 0; i < bytes.byteLength; i += MIB) ctl.enqueue(bytes.slice(i, i + MIB));
      ctl.close();
    },
  });
}

/** A body of unknown length arriving as these chunks, a moment apart. */
function chunked(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(ctl) {
      if (i === chunks.length) return ctl.close();
      if (i) await new Promise((r) => setTimeout(r, 20));
      ctl.enqueue(chunks[i++]!);
    },
  });
}

describe("tus 1.0", () => {
  it("announces its version and extensions on OPTIONS, without credentials", async () => {
    const res = await api("/v1/tus", { method: "OPTIONS", auth: null });
    expect(res.status).toBe(204);
    expect(res.headers.get("tus-version")).toBe("1.0.0");
    expect(res.headers.get("tus-extension")).toBe("creation,termination,expiration");
    expect(Number(res.headers.get("tus-max-size"))).toBeGreaterThan(0);
  });

  it("refuses requests without Tus-Resumable (412), without credentials (401) or without a declared frame", async () => {
    const created = await createCapture([jpegBytes(100), jpegBytes(100)]);
    const noVersion = await api("/v1/tus", {
      method: "POST",
      headers: { "upload-length": "100", "upload-metadata": metadata(created.id, 0) },
    });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get("tus-version")).toBe("1.0.0");
    expect((await api("/v1/tus", { method: "POST", headers: TUS, auth: null })).status).toBe(401);
    const cases: [Record<string, string>, number, string][] = [
      [{ "upload-length": "100" }, 400, "invalid_argument"],
      [
        { "upload-length": "100", "upload-metadata": `captureId ${b64(created.id)}` },
        400,
        "invalid_argument",
      ],
      [
        { "upload-length": "100", "upload-metadata": metadata(created.id, 7) },
        400,
        "invalid_argument",
      ],
      [
        { "upload-length": "101", "upload-metadata": metadata(created.id, 0) },
        400,
        "length_mismatch",
      ],
      [
        { "upload-defer-length": "1", "upload-metadata": metadata(created.id, 0) },
        400,
        "invalid_argument",
      ],
      [
        {
          "upload-length": "100",
          "upload-metadata": metadata("00000000-0000-4000-8000-000000000000", 0),
        },
        404,
        "capture_not_found",
      ],
      [{ "upload-length": "100", "upload-metadata": "captureId %%%" }, 400, "invalid_argument"],
    ];
    for (const [headers, status, code] of cases) {
      const res = await api("/v1/tus", { method: "POST", headers: { ...TUS, ...headers } });
      expect(res.status, JSON.stringify(headers)).toBe(status);
      expect(((await res.json()) as ErrorBody).error.code).toBe(code);
    }
  });

  it("tiles chunks into R2 parts of one fixed size, reports offsets, and completes the frame", async () => {
    const frame = jpegBytes(11 * MIB + 123, 3);
    const created = await createCapture([frame, jpegBytes(100)]);
    const res = await createUpload(created.id, 0, frame.byteLength);
    expect(res.status).toBe(201);
    const location = res.headers.get("location")!;
    expect(location).toMatch(/^https:\/\/edge\.test\/v1\/tus\/[0-9a-f-]{36}$/);
    expect(Date.parse(res.headers.get("upload-expires")!)).toBeGreaterThan(Date.now());
    expect((await head(location)).headers.get("upload-offset")).toBe("0");

    // 3 MiB chunks: offsets 3, 5+1 (a part), 9, then the rest.
    let offset = 0;
    for (const size of [3 * MIB, 3 * MIB, 3 * MIB, frame.byteLength - 9 * MIB]) {
      const r = await patch(location, offset, frame.slice(offset, offset + size));
      expect(r.status).toBe(204);
      offset += size;
      expect(r.headers.get("upload-offset")).toBe(String(offset));
      const h = await head(location);
      expect(h.headers.get("upload-offset")).toBe(String(offset));
      expect(h.headers.get("upload-length")).toBe(String(frame.byteLength));
      expect(h.headers.get("cache-control")).toBe("no-store");
    }
    const upload = await runInDurableObject(uploadObject(location), (o: UploadObject) => o.get());
    expect(upload!.parts.map((p) => p.bytes)).toEqual([5 * MIB, 5 * MIB, MIB + 123]);
    expect(upload!.state).toBe("completed");
    const stored = await storedFrame(created.id, 0);
    expect(await sha256(new Uint8Array(await stored!.arrayBuffer()))).toBe(await sha256(frame));
    expect(await testEnv.BUCKET.head(`captures/${created.id}/tus/${upload!.id}/tail`)).toBeNull();
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as {
      frames: { sha256?: string }[];
    };
    expect(status.frames[0]!.sha256).toBe(await sha256(frame));
  });

  // The real dropped TCP connection, with tus-js-client, is in test/tusResume.test.ts.
  it("keeps the bytes of a cut-short PATCH: HEAD reports the true offset and the upload resumes from it", async () => {
    const frame = jpegBytes(7 * MIB + 5, 4);
    const created = await createCapture([frame, jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, frame.byteLength)).headers.get("location")!;
    const cut = await patch(location, 0, cutBody(frame.slice(0, 6 * MIB)));
    expect(cut.status).toBe(204);
    const offset = Number((await head(location)).headers.get("upload-offset"));
    expect(offset).toBe(6 * MIB); // one 5 MiB part + 1 MiB tail, all of it kept
    // A resume at the wrong offset is refused with 409; at the right one it completes.
    expect((await patch(location, 0, frame.slice(0, 10))).status).toBe(409);
    const resumed = await patch(location, offset, frame.slice(offset));
    expect(resumed.status).toBe(204);
    expect(resumed.headers.get("upload-offset")).toBe(String(frame.byteLength));
    const stored = await storedFrame(created.id, 0);
    expect(await sha256(new Uint8Array(await stored!.arrayBuffer()))).toBe(await sha256(frame));
  });

  it("refuses a wrong PATCH content type, bytes past Upload-Length, and a frame that is not the declared type", async () => {
    const created = await createCapture([jpegBytes(1000), jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    expect((await patch(location, 0, jpegBytes(10), { "content-type": "image/jpeg" })).status).toBe(
      415,
    );
    expect((await patch(location, 0, jpegBytes(1001))).status).toBe(413);
    const res = await patch(location, 0, pngBytes(1000));
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorBody).error.code).toBe("content_type_mismatch");
    expect(await frameObjects(created.id, 0)).toEqual([]);
  });

  it("terminates an upload (DELETE) and expires an abandoned one", async () => {
    const created = await createCapture([jpegBytes(1000), jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    expect((await patch(location, 0, jpegBytes(1000).slice(0, 400))).status).toBe(204);
    expect((await api(location, { method: "DELETE", headers: TUS })).status).toBe(204);
    expect((await head(location)).status).toBe(404);
    expect((await patch(location, 400, jpegBytes(600))).status).toBe(404);

    const other = (await createUpload(created.id, 1, 100)).headers.get("location")!;
    expect((await patch(other, 0, jpegBytes(100).slice(0, 10))).status).toBe(204);
    expect(await runDurableObjectAlarm(uploadObject(other))).toBe(true);
    expect((await head(other)).status).toBe(410);
    const u = (await runInDurableObject(uploadObject(other), (o: UploadObject) =>
      o.get(),
    )) as TusUpload;
    expect(await testEnv.BUCKET.head(u.tailKey)).toBeNull();
  });

  it("after DELETE of a completed upload, HEAD and PATCH answer 404 (tus termination)", async () => {
    const frame = jpegBytes(1000, 5);
    const created = await createCapture([frame, jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    expect((await patch(location, 0, frame)).status).toBe(204);
    expect((await head(location)).status).toBe(200);
    expect((await api(location, { method: "DELETE", headers: TUS })).status).toBe(204);
    expect(
      await testEnv.BUCKET.head(frameKey(created.id, 0, location.split("/").pop()!)),
    ).toBeNull();
    const h = await head(location);
    expect(h.status).toBe(404);
    expect(h.headers.get("upload-offset")).toBeNull();
    expect((await patch(location, 1000, new Uint8Array(0))).status).toBe(404);
    expect((await api(location, { method: "DELETE", headers: TUS })).status).toBe(404);
  });

  it("a 413 keeps the bytes that arrived before the overflowing chunk", async () => {
    const frame = jpegBytes(1000, 6);
    const created = await createCapture([frame, jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    // No Content-Length: 400 bytes, then a chunk that runs 100 bytes past Upload-Length.
    const res = await patch(location, 0, chunked([frame.slice(0, 400), jpegBytes(700)]));
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe("upload_too_large");
    expect((await head(location)).headers.get("upload-offset")).toBe("400");
    const rest = await patch(location, 400, frame.slice(400));
    expect(rest.status).toBe(204);
    expect(rest.headers.get("upload-offset")).toBe("1000");
    const stored = await testEnv.BUCKET.get(frameKey(created.id, 0, location.split("/").pop()!));
    expect(await sha256(new Uint8Array(await stored!.arrayBuffer()))).toBe(await sha256(frame));
  });

  it("a 413 whose earlier chunks fill the upload still completes the frame", async () => {
    const frame = jpegBytes(1000, 7);
    const created = await createCapture([frame, jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    const res = await patch(location, 0, chunked([frame, jpegBytes(10)]));
    expect(res.status).toBe(413);
    const h = await head(location);
    expect(h.headers.get("upload-offset")).toBe("1000");
    const u = await runInDurableObject(uploadObject(location), (o: UploadObject) => o.get());
    expect(u!.state).toBe("completed");
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as {
      frames: { sha256?: string }[];
    };
    expect(status.frames[0]!.sha256).toBe(await sha256(frame));
  });

  it("answers 404 for someone else's upload", async () => {
    const created = await createCapture([jpegBytes(1000), jpegBytes(100)]);
    const location = (await createUpload(created.id, 0, 1000)).headers.get("location")!;
    expect(
      (await api(location, { method: "HEAD", headers: TUS, auth: "not-a-known-key-123" })).status,
    ).toBe(401);
    expect((await api(`/v1/tus/not-an-id`, { method: "HEAD", headers: TUS })).status).toBe(404);
  });
});

describe("parseUploadMetadata", () => {
  it("decodes pairs, keys without values, and refuses malformed ones", () => {
    expect(parseUploadMetadata(`a ${btoa("x y")},empty,b ${btoa("2")}`)).toEqual({
      a: "x y",
      empty: "",
      b: "2",
    });
    expect(() => parseUploadMetadata("a b c")).toThrow(/malformed/);
    expect(() => parseUploadMetadata("a !!!")).toThrow(/base64/);
  });

  it("refuses a key given twice (All keys MUST be unique)", () => {
    expect(() => parseUploadMetadata(`a ${btoa("1")},b,a ${btoa("2")}`)).toThrow(/unique/);
  });

  it("refuses a POST whose Upload-Metadata repeats captureId", async () => {
    const created = await createCapture([jpegBytes(100), jpegBytes(100)]);
    const other = await createCapture([jpegBytes(100), jpegBytes(100)]);
    const res = await createUpload(created.id, 0, 100, {
      "upload-metadata": `${metadata(created.id, 0)},captureId ${b64(other.id)}`,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_argument");
  });
});
