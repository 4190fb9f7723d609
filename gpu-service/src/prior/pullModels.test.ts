import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ModelSpec } from "#shared/models/registry.ts";
import { tempDir } from "../testing/fixtures.ts";
import { pullModel } from "./pullModels.ts";

const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const SHA = createHash("sha256").update(BODY).digest("hex");
const requests: { range?: string }[] = [];

// A loopback file server that honours Range requests, like a CDN.
const server = createServer((req, res) => {
  requests.push({ range: req.headers.range });
  if (req.url !== "/model.onnx") return void res.writeHead(404).end();
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (m) {
    const from = Number(m[1]);
    res.writeHead(206, {
      "content-length": BODY.length - from,
      "content-range": `bytes ${from}-${BODY.length - 1}/${BODY.length}`,
    });
    return void res.end(BODY.subarray(from));
  }
  res.writeHead(200, { "content-length": BODY.length }).end(BODY);
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const env = { dir: process.env.MODELS_DIR, path: process.env.MODELS_PATH };
afterEach(() => {
  for (const [k, v] of [
    ["MODELS_DIR", env.dir],
    ["MODELS_PATH", env.path],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  requests.length = 0;
});

const spec = (over: Partial<ModelSpec> = {}): ModelSpec => ({
  name: "test-model",
  priority: 0,
  file: "model.onnx",
  bytes: BODY.length,
  sha256: SHA,
  url: `${base}/model.onnx`,
  license: "test",
  input: { name: null, multiple: 1, rounding: "nearest", mean: null, std: null },
  output: { name: null, kind: "relative-depth" },
  ...over,
});

async function useDirs(): Promise<{ cache: string; shared: string }> {
  const cache = await tempDir();
  const shared = await tempDir();
  process.env.MODELS_DIR = cache;
  process.env.MODELS_PATH = `${cache}:${shared}`;
  return { cache, shared };
}

describe("pullModel", () => {
  it("copies a verified file from ../shared/models instead of downloading", async () => {
    const { cache, shared } = await useDirs();
    await writeFile(join(shared, "model.onnx"), BODY);
    expect((await pullModel(spec())).outcome).toBe("copied");
    expect(requests).toHaveLength(0);
    expect((await readFile(join(cache, "model.onnx"))).equals(BODY)).toBe(true);
    expect((await pullModel(spec())).outcome).toBe("cached");
  });

  it("downloads, resuming a partial file with a Range request", async () => {
    const { cache } = await useDirs();
    await writeFile(join(cache, "model.onnx.part"), BODY.subarray(0, 100_000));
    const r = await pullModel(spec());
    expect(r.outcome).toBe("downloaded");
    expect(requests.map((q) => q.range)).toEqual(["bytes=100000-"]);
    expect((await stat(join(cache, "model.onnx"))).size).toBe(BODY.length);
    expect(await stat(join(cache, "model.onnx.part")).catch(() => undefined)).toBeUndefined();
  });

  it("rejects a download whose sha256 differs, and keeps nothing of it", async () => {
    const { cache } = await useDirs();
    await expect(pullModel(spec({ sha256: "f".repeat(64) }))).rejects.toMatchObject({
      code: "model_not_found",
      message: expect.stringContaining("sha256"),
    });
    expect(await stat(join(cache, "model.onnx")).catch(() => undefined)).toBeUndefined();
    expect(await stat(join(cache, "model.onnx.part")).catch(() => undefined)).toBeUndefined();
  });

  it("does not copy a corrupted shared file; says when nothing can be had", async () => {
    const { shared } = await useDirs();
    await writeFile(join(shared, "model.onnx"), Buffer.alloc(BODY.length));
    await expect(pullModel(spec({ url: null }))).rejects.toMatchObject({
      message: expect.stringContaining("has no download URL"),
    });
    await expect(pullModel(spec({ url: `${base}/missing.onnx` }))).rejects.toMatchObject({
      message: expect.stringContaining("HTTP 404"),
    });
  });
});
