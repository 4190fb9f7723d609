import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { floatToBytes } from "#shared/image/types.ts";
import type { ModelSpec } from "#shared/models/registry.ts";
import { decodeGray16, decodeRgb } from "../io/decodeImage.ts";
import { bandRunner } from "../parallel/bandRunner.ts";
import { THREADS_ENV } from "../parallel/threads.ts";
import { tempDir } from "../testing/fixtures.ts";
import { writeChannelMeanModel } from "../testing/tinyOnnx.ts";
import { batchingPrior } from "./batchingPrior.ts";
import { findModelFile, loadRegistry, modelSearchDirs, sha256File } from "./modelStore.ts";
import { loadPrior, priorSessionOptions } from "./priorRunner.ts";

const tinySpec = (kind: ModelSpec["output"]["kind"]): ModelSpec => ({
  name: "tiny",
  priority: 0,
  file: "tiny.onnx",
  bytes: null,
  sha256: "0".repeat(64),
  url: null,
  license: "test",
  input: {
    name: null,
    multiple: 8,
    longSide: 32,
    rounding: "nearest",
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  },
  output: { name: null, kind },
});

describe("prior runner on a tiny ONNX model built by the test", () => {
  it("normalises, runs, resizes back and converts depth to inverse depth", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    // A uniform image: every output pixel is the mean of the normalised channels.
    const rgb = { width: 48, height: 36, data: new Float32Array(48 * 36 * 3) };
    for (let i = 0; i < 48 * 36; i++) rgb.data.set([0.6, 0.8, 1.0], 3 * i);
    const expected = ((0.6 - 0.5) / 0.25 + (0.8 - 0.5) / 0.25 + (1.0 - 0.5) / 0.25) / 3; // 1.2
    const asInverse = await loadPrior({ spec: tinySpec("relative-inverse-depth"), path }, ["cpu"]);
    expect(asInverse.provider).toBe("cpu");
    const inv = await asInverse.infer(rgb);
    expect(inv.length).toBe(48 * 36);
    for (const v of inv) expect(v).toBeCloseTo(expected, 2);
    const asDepth = await loadPrior({ spec: tinySpec("relative-depth"), path }, ["cpu"]);
    for (const v of await asDepth.infer(rgb)) expect(v).toBeCloseTo(1 / expected, 2);
  });

  it("takes 8-bit samples as it takes the floats they round from", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const prior = await loadPrior({ spec: tinySpec("relative-inverse-depth"), path }, ["cpu"]);
    const floats = { width: 40, height: 30, data: new Float32Array(40 * 30 * 3) };
    for (let i = 0; i < floats.data.length; i++) floats.data[i] = ((i * 7919) % 1000) / 999;
    const bytes = { width: 40, height: 30, data: floatToBytes(floats.data) };
    expect(await prior.infer(bytes)).toEqual(await prior.infer(floats));
    const [a, b] = await prior.inferBatch([bytes, floats]);
    expect(a).toEqual(b);
  });

  it("resizes in the caller's row bands, into their memory, directly or through the batcher", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const prior = await loadPrior({ spec: tinySpec("relative-inverse-depth"), path }, ["cpu"]);
    const shared = bandRunner(2);
    // 48×36 is resized from the network's 32×24; 32×24 is its own size (copied, not resized).
    for (const [w, h] of [
      [48, 36],
      [32, 24],
    ] as const) {
      const rgb = { width: w, height: h, data: new Float32Array(w * h * 3) };
      for (let i = 0; i < rgb.data.length; i++) rgb.data[i] = ((i * 31) % 97) / 96;
      const plain = await prior.infer(rgb);
      expect(plain.buffer).toBeInstanceOf(ArrayBuffer);
      for (const p of [prior, batchingPrior(prior, { maxBatch: 4, maxQueueDelayMs: 0 })]) {
        const into = await p.infer(rgb, shared);
        expect(into.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(into).toEqual(plain);
      }
    }
  });

  it("reuses one session per model file (and thread count)", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const a = loadPrior({ spec: tinySpec("relative-depth"), path }, ["cpu"]);
    const b = loadPrior({ spec: tinySpec("relative-depth"), path }, ["cpu"]);
    expect(a).toBe(b);
    const one = loadPrior({ spec: tinySpec("relative-depth"), path }, ["cpu"], 1);
    expect(one).not.toBe(a);
    const rgb = { width: 4, height: 4, data: new Float32Array(48).fill(0.5) };
    expect(await (await one).infer(rgb)).toEqual(await (await a).infer(rgb));
  });

  it("falls back to CPU when CUDA cannot load, and says which provider runs", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const prior = await loadPrior({ spec: tinySpec("relative-depth"), path }, ["cuda", "cpu"]);
    expect(["cuda", "cpu"]).toContain(prior.provider);
  });

  it("refuses a model whose output is not the one its spec names, saying which", async () => {
    const path = await writeChannelMeanModel(await tempDir(), "tiny.onnx", "image", "other");
    const spec = {
      ...tinySpec("relative-depth"),
      output: { name: "depth", kind: "relative-depth" as const },
    };
    const prior = await loadPrior({ spec, path }, ["cpu"]);
    const rgb = { width: 16, height: 12, data: new Float32Array(16 * 12 * 3).fill(0.5) };
    await expect(prior.infer(rgb)).rejects.toThrow(
      "tiny: the model gave no float output named depth",
    );
  });

  it("gives a thread of its own to a prior that leaves some of the process's threads free", async () => {
    try {
      vi.stubEnv(THREADS_ENV, "3");
      const path = await writeChannelMeanModel(await tempDir());
      const few = await loadPrior({ spec: tinySpec("relative-inverse-depth"), path }, ["cpu"], 2);
      const all = await loadPrior({ spec: tinySpec("relative-inverse-depth"), path }, ["cpu"], 3);
      expect([few.ownThread, few.cpuThreads]).toEqual([true, 2]);
      expect([all.ownThread, all.cpuThreads]).toEqual([false, 3]);
      const rgb = { width: 16, height: 12, data: new Float32Array(16 * 12 * 3).fill(0.25) };
      expect(await few.infer(rgb)).toEqual(await all.infer(rgb));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("gives a CPU session the process's threads, not onnxruntime's half of the cores", () => {
    try {
      vi.stubEnv(THREADS_ENV, undefined);
      expect(priorSessionOptions("cpu")).toMatchObject({
        enableMemPattern: false,
        intraOpNumThreads: availableParallelism(),
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      vi.stubEnv(THREADS_ENV, "3");
      expect(priorSessionOptions("cpu").intraOpNumThreads).toBe(3);
      expect(priorSessionOptions("cpu", 1).intraOpNumThreads).toBe(1);
      expect(priorSessionOptions("cuda")).toEqual({});
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

const registry = await loadRegistry();
const pydnet = registry.find((s) => s.name === "pydnet-pp")!;
const pydnetPath = findModelFile(pydnet, modelSearchDirs());

describe.skipIf(!pydnetPath)("the real pydnet-pp prior (../shared/models)", () => {
  it("matches its registry entry byte for byte", async () => {
    expect((await stat(pydnetPath!)).size).toBe(pydnet.bytes);
    expect(await sha256File(pydnetPath!)).toBe(pydnet.sha256);
  });

  it("gives relative inverse depth that orders a real scene like its ground truth", async () => {
    const root = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");
    const rgb = await decodeRgb(await readFile(join(root, "f02.jpg")), "f02.jpg");
    const gt = await decodeGray16(await readFile(join(root, "gt_depth.png")), "gt");
    const prior = await loadPrior({ spec: pydnet, path: pydnetPath! }, ["cpu"]);
    const inv = await prior.infer(rgb);
    expect(inv.length).toBe(rgb.width * rgb.height);
    // Spearman rank correlation with ground-truth inverse depth, on a sample of valid pixels.
    const idx: number[] = [];
    for (let i = 0; i < inv.length; i += 37)
      if (gt.data[i]! > 0 && Number.isFinite(inv[i]!)) idx.push(i);
    const rank = (v: number[]) => {
      const order = v.map((x, k) => [x, k] as const).sort((a, b) => a[0] - b[0]);
      const r = new Array<number>(v.length);
      order.forEach(([, k], j) => {
        r[k] = j;
      });
      return r;
    };
    const a = rank(idx.map((i) => inv[i]!));
    const b = rank(idx.map((i) => 1 / gt.data[i]!));
    const n = idx.length;
    const d2 = a.reduce((s, x, k) => s + (x - b[k]!) ** 2, 0);
    const spearman = 1 - (6 * d2) / (n * (n * n - 1));
    // MODELS.md measured +0.35…+0.95 on real frames; a flipped output kind would be negative.
    expect(spearman).toBeGreaterThan(0.3);
  });
});
