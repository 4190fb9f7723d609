import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { encode } from "fast-png";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { memorySource } from "../testing/memorySource.ts";
import { runPipeline } from "./runPipeline.ts";

const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");

describe("frames kept as 16-bit samples", () => {
  it("give a 16-bit PNG stack the bits of its 8-bit twin, on the pool (v·257 / 65535 is v / 255)", async () => {
    const capture = JSON.parse(await readFile(join(SAMPLE, "capture.json"), "utf8"));
    const narrow: Uint8Array[] = [];
    const wide: Uint8Array[] = [];
    for (const f of capture.frames as { file: string }[]) {
      const { data, info } = await sharp(await readFile(join(SAMPLE, f.file)))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const { width, height } = info;
      narrow.push(encode({ width, height, data, depth: 8, channels: 3 }));
      const data16 = Uint16Array.from(data, (v) => v * 257);
      wide.push(encode({ width, height, data: data16, depth: 16, channels: 3 }));
    }
    const runs = [];
    for (const frames of [narrow, wide])
      runs.push(await runPipeline(memorySource(capture, frames), { stage: "dff", threads: 2 }));
    const [a, b] = runs;
    const same = (x: ArrayBufferView, y: ArrayBufferView) =>
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
        Buffer.from(y.buffer, y.byteOffset, y.byteLength),
      );
    expect(same(b!.depth.data, a!.depth.data)).toBe(true);
    expect(same(b!.confidence.data, a!.confidence.data)).toBe(true);
    expect(same(b!.allInFocus.data, a!.allInFocus.data)).toBe(true);
    expect(same(b!.reference.data, a!.reference.data)).toBe(true);
    expect(b!.result.registration).toEqual(a!.result.registration);
    // Some frame was registered (its colour sampled through the transform).
    expect(
      a!.result.registration.some((r) => r.scale !== 1 || r.shiftPx.some((s) => s !== 0)),
    ).toBe(true);
  });
});
