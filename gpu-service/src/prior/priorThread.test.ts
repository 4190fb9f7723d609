import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../testing/fixtures.ts";
import { writeChannelMeanModel } from "../testing/tinyOnnx.ts";
import { priorSessionOptions } from "./priorRunner.ts";
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
