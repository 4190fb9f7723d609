import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { median } from "#shared/math/stats.ts";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { hasSharedData, SHARED_DATA } from "./helpers/sharedData.ts";

function regionMedian(
  d: Float32Array,
  w: number,
  h: number,
  rows: [number, number],
  cols: [number, number],
): number {
  const v: number[] = [];
  for (let y = Math.floor(rows[0] * h); y < rows[1] * h; y++)
    for (let x = Math.floor(cols[0] * w); x < cols[1] * w; x++) v.push(d[y * w + x]!);
  return median(v);
}

/** Real phone frames: unregistered (focus breathing, hand shake), 4080×3072, HybridDepth file names. */
describe.skipIf(!hasSharedData("focal-real/pixel6pro-desk"))("real Pixel 6 Pro focal stack", () => {
  it("registers every frame and reads the carpet receding from the camera", async () => {
    const out = await runPipeline(
      await loadCaptureDir(join(SHARED_DATA, "focal-real", "pixel6pro-desk")),
      { maxWorkPixels: 800_000 },
    );
    const r = out.result;
    expect([r.sourceWidth, r.sourceHeight]).toEqual([4080, 3072]);
    const byFocus = [...r.registration].sort((a, b) => a.focusDistanceM - b.focusDistanceM);
    for (const f of byFocus) {
      expect(f.trusted, f.file).toBe(true);
      expect(f.ncc).toBeGreaterThanOrEqual(f.nccIdentity);
      expect(f.ncc).toBeGreaterThan(0.99);
    }
    // Focus breathing: focusing nearer magnifies, so the reference maps to ever smaller scales.
    for (let k = 1; k < byFocus.length; k++)
      expect(byFocus[k]!.scale).toBeLessThan(byFocus[k - 1]!.scale);
    const { width: w, height: h, data } = out.depth;
    const bands = [
      [0.9, 0.98],
      [0.75, 0.85],
      [0.6, 0.7],
      [0.45, 0.55],
      [0.3, 0.4],
    ] as const;
    const depths = bands.map((rows) => regionMedian(data, w, h, [rows[0], rows[1]], [0.3, 0.7]));
    for (let k = 1; k < depths.length; k++) expect(depths[k]).toBeGreaterThan(depths[k - 1]!);
    expect(depths[0]).toBeLessThan(0.6);
    expect(r.coverage).toBeGreaterThan(0.3);
  });

  it("given its nominal optics, calibrates their blur to what the blur fitted without them says", async () => {
    const dir = await tempDir();
    const src = join(SHARED_DATA, "focal-real", "pixel6pro-desk");
    const source = await loadCaptureDir(src);
    for (const f of source.capture.frames) await copyFile(join(src, f.file), join(dir, f.file));
    // 6.81 mm f/1.85 (the phone's EXIF); 9.8 mm is an estimate of its 1/1.31" sensor's width.
    const camera = { fNumber: 1.85, focalLengthMm: 6.81, sensorWidthMm: 9.8 };
    await writeFile(join(dir, "capture.json"), JSON.stringify({ ...source.capture, camera }));
    const options = { stage: "dff" as const, maxWorkPixels: 800_000 };
    const [fitted, known] = [
      (await runPipeline(source, options)).result.optics!,
      (await runPipeline(await loadCaptureDir(dir), options)).result.optics!,
    ];
    expect(fitted.source).toBe("fitted");
    expect(known.source).toBe("capture");
    console.log(
      `Pixel 6 Pro, nominal optics: gain ${known.blurGain} → ${known.blurPxPerDiopter} px/D; fitted without them ${fitted.blurPxPerDiopter} px/D`,
    );
    expect(known.blurGain).not.toBe(1);
    expect(Math.abs(Math.log(known.blurPxPerDiopter / fitted.blurPxPerDiopter))).toBeLessThan(
      Math.log(1.1),
    );
  });
});

/** Watanabe & Nayar's 2-frame monochrome stack: 16-bit-free gray PNGs, telecentric, no registration needed. */
describe.skipIf(!hasSharedData("focal-real/breakfast"))(
  "real 2-frame monochrome stack (breakfast)",
  () => {
    it("runs on two gray PNG frames and stays within the focus range", async () => {
      const src = join(SHARED_DATA, "focal-real", "breakfast");
      const dir = await tempDir();
      await Promise.all(
        ["breakfast_near.png", "breakfast_far.png"].map((f) =>
          copyFile(join(src, f), join(dir, f)),
        ),
      );
      await writeFile(
        join(dir, "capture.json"),
        JSON.stringify({
          version: 1,
          focusUnit: "m",
          frames: [
            { file: "breakfast_near.png", focusDistance: 0.529 },
            { file: "breakfast_far.png", focusDistance: 0.869 },
          ],
          camera: { fNumber: 8.3, focalLengthMm: 25 },
        }),
      );
      const out = await runPipeline(await loadCaptureDir(dir), { register: false });
      for (let i = 0; i < out.depth.data.length; i += 53) {
        expect(out.depth.data[i]).toBeGreaterThanOrEqual(0.529 - 1e-4);
        expect(out.depth.data[i]).toBeLessThanOrEqual(0.869 + 1e-4);
      }
      // With two frames every peak sits on an end of the stack: confidence must reflect that.
      expect(out.confidence.data.reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(0.5);
    });
  },
);
