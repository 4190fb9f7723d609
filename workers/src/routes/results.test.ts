import { beforeAll, describe, expect, it } from "vitest";
import { decodeNpyFloat32 } from "#shared/format/npy.ts";
import { api, createCapture, jpegBytes, uploadAll, waitForState } from "../../test/api.ts";

type ErrorBody = { error: { code: string } };
let id: string;

beforeAll(async () => {
  const frames = [jpegBytes(640, 21), jpegBytes(650, 21)];
  const created = await createCapture(frames, {}, ["r-0.jpg", "r-1.jpg"]);
  await uploadAll(created, frames);
  const early = await api(`/v1/captures/${created.id}/depth?format=f32`);
  expect(early.status).toBe(409);
  expect(((await early.json()) as ErrorBody).error.code).toBe("result_not_ready");
  await api(`/v1/captures/${created.id}/finalize`, { method: "POST" });
  expect((await waitForState(created.id, ["done", "failed"])).state).toBe("done");
  id = created.id;
});

describe("GET /v1/captures/:id/depth", () => {
  it("serves each format with a strong ETag, immutable caching and its content type", async () => {
    const status = (await (await api(`/v1/captures/${id}`)).json()) as {
      address: string;
      results: Record<string, string>;
    };
    expect(Object.keys(status.results).sort()).toEqual([
      "confidence",
      "f32",
      "json",
      "npy",
      "png16",
      "preview",
    ]);
    const types: Record<string, string> = {
      json: "application/json",
      f32: "application/octet-stream",
      png16: "image/png",
      preview: "image/png",
    };
    const tags = new Set<string>();
    for (const [format, type] of Object.entries(types)) {
      const res = await api(`/v1/captures/${id}/depth?format=${format}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      // Strong, one per output, and naming nothing of the storage layout.
      const etag = res.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      tags.add(etag);
      expect(res.headers.get("cache-control")).toContain("immutable");
      await res.arrayBuffer();
    }
    expect(tags.size).toBe(Object.keys(types).length);
    const json = (await (await api(`/v1/captures/${id}/depth?format=json`)).json()) as {
      width: number;
    };
    expect(json.width).toBe(4);
    // npy: the f32 depth with NumPy's header, shape (height, width).
    const npy = decodeNpyFloat32(
      new Uint8Array(await (await api(`/v1/captures/${id}/depth?format=npy`)).arrayBuffer()),
    );
    const f32 = new Float32Array(
      await (await api(`/v1/captures/${id}/depth?format=f32`)).arrayBuffer(),
    );
    expect(npy.shape).toEqual([2, 4]);
    expect(npy.data).toEqual(f32);
  });

  it("answers 304 to If-None-Match with the ETag", async () => {
    const first = await api(`/v1/captures/${id}/depth?format=f32`);
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    const res = await api(`/v1/captures/${id}/depth?format=f32`, {
      headers: { "if-none-match": `"other", ${etag}` },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etag);
  });

  it("serves byte ranges, and 416 past the end", async () => {
    const full = new Uint8Array(
      await (await api(`/v1/captures/${id}/depth?format=f32`)).arrayBuffer(),
    );
    expect(full.byteLength).toBe(32);
    const part = await api(`/v1/captures/${id}/depth?format=f32`, {
      headers: { range: "bytes=8-15" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 8-15/32");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(full.subarray(8, 16));
    const open = await api(`/v1/captures/${id}/depth?format=f32`, {
      headers: { range: "bytes=28-" },
    });
    expect(open.headers.get("content-range")).toBe("bytes 28-31/32");
    expect(new Uint8Array(await open.arrayBuffer())).toEqual(full.subarray(28));
    const past = await api(`/v1/captures/${id}/depth?format=f32`, {
      headers: { range: "bytes=64-" },
    });
    expect(past.status).toBe(416);
    const bad = await api(`/v1/captures/${id}/depth?format=f32`, {
      headers: { range: "lines=1-2" },
    });
    expect(bad.status).toBe(400);
  });

  it("answers repeat readers from the Cache API", async () => {
    await (await api(`/v1/captures/${id}/depth?format=png16`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 50)); // the cache write runs after the answer
    const res = await api(`/v1/captures/${id}/depth?format=png16`);
    expect(res.headers.get("x-cache")).toBe("hit");
    expect(new Uint8Array(await res.arrayBuffer()).subarray(0, 4)).toEqual(
      new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    );
  });

  it("without ?format= serves f32, the SDK's default too (one default, from the outputs table)", async () => {
    const plain = await api(`/v1/captures/${id}/depth`);
    expect(plain.headers.get("content-type")).toBe("application/octet-stream");
    const f32 = await api(`/v1/captures/${id}/depth?format=f32`);
    expect(plain.headers.get("etag")).toBe(f32.headers.get("etag"));
    expect(new Uint8Array(await plain.arrayBuffer())).toEqual(
      new Uint8Array(await f32.arrayBuffer()),
    );
  });

  it("refuses unknown formats", async () => {
    const res = await api(`/v1/captures/${id}/depth?format=exr`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_argument");
  });
});
