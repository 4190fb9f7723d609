import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeRaw, tempDir, texture, writeCapture } from "../testing/fixtures.ts";
import { loadCaptureDir } from "./loadCaptureDir.ts";

describe("loadCaptureDir", async () => {
  const frame = await encodeRaw(texture(16, 12), 16, 12, "jpeg");

  it("opens a bundle folder and its capture.json directly", async () => {
    const dir = await writeCapture(
      await tempDir(),
      {
        version: 1,
        frames: [
          { file: "a.jpg", focusDistance: 0.5 },
          { file: "b.jpg", focusDistance: 1 },
        ],
      },
      { "a.jpg": frame, "b.jpg": frame },
    );
    for (const path of [dir, join(dir, "capture.json")]) {
      const src = await loadCaptureDir(path);
      expect(src.capture.frames.map((f) => f.file)).toEqual(["a.jpg", "b.jpg"]);
      expect(src.capture.focusUnit).toBe("m");
      expect(Buffer.from(await src.readFrame(1)).equals(frame)).toBe(true);
      expect(await src.readGroundTruth()).toBeUndefined();
    }
  });

  it("reads a plain folder in the HybridDepth naming convention, in any order", async () => {
    const dir = await tempDir();
    for (const f of ["image_2_0.90.jpg", "image_1_0.35.jpg", "notes.txt", "image_3_2.21.jpg"])
      await writeFile(join(dir, f), frame);
    const src = await loadCaptureDir(dir);
    expect(src.capture.frames).toEqual([
      { file: "image_1_0.35.jpg", focusDistance: 0.35 },
      { file: "image_2_0.90.jpg", focusDistance: 0.9 },
      { file: "image_3_2.21.jpg", focusDistance: 2.21 },
    ]);
  });

  it("names what is wrong: missing path, no frames, bad JSON, bad metadata, missing frame", async () => {
    await expect(loadCaptureDir("/nonexistent/capture")).rejects.toMatchObject({
      code: "capture_not_found",
    });
    const empty = await tempDir();
    await expect(loadCaptureDir(empty)).rejects.toMatchObject({
      code: "capture_not_found",
      message: expect.stringContaining("image_<n>_<metres>.jpg"),
    });
    const badJson = await tempDir();
    await writeFile(join(badJson, "capture.json"), "{ not json");
    await expect(loadCaptureDir(badJson)).rejects.toMatchObject({
      code: "invalid_capture",
      message: expect.stringContaining("not valid JSON"),
    });
    const bad = await writeCapture(
      await tempDir(),
      {
        version: 1,
        frames: [
          { file: "a.jpg", focusDistance: -1 },
          { file: "b.jpg", focusDistance: 1 },
        ],
      },
      {},
    );
    await expect(loadCaptureDir(bad)).rejects.toMatchObject({
      code: "invalid_capture",
      message: expect.stringContaining("frames[0].focusDistance"),
    });
    const missing = await writeCapture(
      await tempDir(),
      {
        version: 1,
        frames: [
          { file: "a.jpg", focusDistance: 0.5 },
          { file: "b.jpg", focusDistance: 1 },
        ],
      },
      { "a.jpg": frame },
    );
    await expect(loadCaptureDir(missing)).rejects.toMatchObject({
      code: "frame_missing",
      message: expect.stringContaining("b.jpg"),
    });
    const nested = await tempDir();
    await mkdir(join(nested, "sub"));
    await expect(loadCaptureDir(join(nested, "sub"))).rejects.toMatchObject({
      code: "capture_not_found",
    });
  });
});
