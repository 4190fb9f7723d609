import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToBytes } from "#shared/image/types.ts";
import { ResultSchema } from "#shared/pipeline/result.ts";
import { BUNDLED_SAMPLE } from "../../../test/helpers/sharedData.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { renderPreview } from "../output/preview.ts";
import { runPipeline } from "../pipeline/runPipeline.ts";
import { encodeParts, float32LittleEndian, type PartSources } from "./executeJob.ts";

/** Byte equality of big arrays (a deep equality walks them element by element: seconds). */
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );

describe("float32LittleEndian", () => {
  const values = Float32Array.of(0, 1.5, -2.25, 3.4028234663852886e38, 1e-42, 0.123456789);

  it("writes float32 little-endian, the same bytes by copy and by DataView", () => {
    const copied = float32LittleEndian(values, true);
    const viaView = float32LittleEndian(values, false);
    expect(copied).toEqual(viaView);
    const view = new DataView(copied.buffer);
    for (const [i, v] of values.entries()) expect(view.getFloat32(4 * i, true)).toBe(v);
  });

  it("copies a view of shared memory into a buffer of its own", () => {
    const shared = new Float32Array(new SharedArrayBuffer(4 * 10));
    shared.set(values, 2);
    const out = float32LittleEndian(shared.subarray(2, 2 + values.length), true);
    expect(out.buffer).toBeInstanceOf(ArrayBuffer);
    expect(out.byteLength).toBe(4 * values.length);
    expect(new Float32Array(out.buffer)).toEqual(values);
    shared.fill(7);
    expect(new Float32Array(out.buffer)).toEqual(values);
  });
});

describe("encodeParts", () => {
  let out: PartSources;
  beforeAll(async () => {
    out = await runPipeline(await loadCaptureDir(BUNDLED_SAMPLE), { stage: "dff" });
  });

  it("encodes exactly the parts asked for, from the run's planes", async () => {
    const parts = await encodeParts(out, ["depth", "confidence", "preview", "aif", "depth_png"]);
    expect(Object.keys(parts).sort()).toEqual(
      ["aif", "confidence", "depth", "depth_png", "preview", "result"].sort(),
    );
    expect(ResultSchema.parse(JSON.parse(new TextDecoder().decode(parts.result)))).toEqual(
      out.result,
    );
    expect(sameBytes(parts.depth!, out.depth.data)).toBe(true);
    expect(sameBytes(parts.confidence!, floatToBytes(out.confidence.data))).toBe(true);
    const preview = await renderPreview(out.reference, out.depth, { confidence: out.confidence });
    expect(sameBytes(parts.preview!, preview)).toBe(true);
    const { width, height } = out.depth;
    const aif = await sharp(parts.aif!).raw().toBuffer({ resolveWithObject: true });
    expect(aif.info).toMatchObject({ width, height, channels: 3 });
    expect(sameBytes(aif.data, out.allInFocus.data)).toBe(true);
    const png16 = await sharp(parts.depth_png!).metadata();
    expect(png16).toMatchObject({ width, height, depth: "ushort", channels: 1 });

    const fewer = await encodeParts(out, ["depth"]);
    expect(Object.keys(fewer).sort()).toEqual(["depth", "result"]);
  });

  it("stops at a checkpoint, with the images it had started settled", async () => {
    let calls = 0;
    const stop = new Error("stopped");
    const checkpoint = () => {
      calls++;
      throw stop;
    };
    await expect(encodeParts(out, ["depth", "preview", "aif"], checkpoint)).rejects.toBe(stop);
    expect(calls).toBe(1);
  });
});
