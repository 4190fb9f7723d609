import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ModelSpec } from "#shared/models/registry.ts";
import { THREADS_ENV } from "../parallel/threads.ts";
import { tempDir } from "../testing/fixtures.ts";
import { writeChannelMeanModel } from "../testing/tinyOnnx.ts";
import { loadPrior, priorSessionOptions } from "./priorRunner.ts";
import { openHere, type WireTensor } from "./priorSession.ts";
import { PriorThread } from "./priorThread.ts";

const options = (p: "cpu" | "cuda") => priorSessionOptions(p, 1);
/** A fresh [1, 3, 4, 6] input (its buffer is moved to the thread by a run). */
const feeds = (): Record<string, WireTensor> => {
  const data = new Float32Array(3 * 4 * 6);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 11) / 10;
  return { image: { type: "float32", data, dims: [1, 3, 4, 6] } };
};

describe("the prior's own thread", () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });

  it("opens and runs the session there, with the bits it gives on this thread", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const thread = await PriorThread.open(path, ["cpu"], options);
    opened.push(thread);
    const here = await openHere(path, ["cpu"], options);
    expect({ ...thread, run: 0, close: 0 }).toEqual({ ...here, run: 0, close: 0 });
    expect(thread.provider).toBe("cpu");
    expect(thread.inputs).toEqual([
      { name: "image", type: "float32", shape: [1, 3, "height", "width"] },
    ]);
    const out = await thread.run(feeds());
    expect(out).toEqual(await here.run(feeds()));
    expect(out.depth!.dims).toEqual([1, 1, 4, 6]);
  });

  it("fails the runs a dying thread had, and opens a fresh one for the next", async () => {
    const path = await writeChannelMeanModel(await tempDir());
    const thread = await PriorThread.open(path, ["cpu"], options);
    opened.push(thread);
    const before = await thread.run(feeds());
    const inFlight = thread.run(feeds());
    await thread.close();
    await expect(inFlight).rejects.toThrow(/prior thread exited/);
    expect(await thread.run(feeds())).toEqual(before);
  });

  it("refuses a file onnxruntime cannot load, with its reason", async () => {
    const dir = await tempDir();
    const path = join(dir, "broken.onnx");
    await writeFile(path, "not a model");
    await expect(PriorThread.open(path, ["cpu"], options)).rejects.toThrow(/protobuf|parse|load/i);
  });
});

describe("which priors get a thread of their own", () => {
  const spec: ModelSpec = {
    name: "tiny",
    priority: 0,
    file: "tiny.onnx",
    bytes: null,
    sha256: "0".repeat(64),
    url: null,
    license: "test",
    input: { name: null, multiple: 8, longSide: 32, rounding: "nearest", mean: null, std: null },
    output: { name: null, kind: "relative-inverse-depth" },
  };

  it("one that leaves some of the process's threads free; one that takes them all stays here", async () => {
    try {
      vi.stubEnv(THREADS_ENV, "3");
      const path = await writeChannelMeanModel(await tempDir());
      const few = await loadPrior({ spec, path }, ["cpu"], 2);
      const all = await loadPrior({ spec, path }, ["cpu"], 3);
      expect([few.ownThread, few.cpuThreads]).toEqual([true, 2]);
      expect([all.ownThread, all.cpuThreads]).toEqual([false, 3]);
      const rgb = { width: 16, height: 12, data: new Float32Array(16 * 12 * 3).fill(0.25) };
      expect(await few.infer(rgb)).toEqual(await all.infer(rgb));
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
