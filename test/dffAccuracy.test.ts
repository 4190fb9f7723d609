import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { evaluateCapture } from "../gpu-service/src/eval/evaluateCapture.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import {
  LARGE_APERTURE_LENS,
  PHONE_LENS,
  SENSOR_SUPERSAMPLE,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { hasSharedData, SHARED_DATA } from "./helpers/sharedData.ts";

/** Rendered as the eval renders: a lens's sub-pixel blur shows (0.3.8). */
const RENDER = { supersample: SENSOR_SUPERSAMPLE };

/**
 * Depth from focus on stacks synthesized from real RGB-D (../shared/data/rgbd): accurate where it
 * is confident with a large aperture, and usable with a phone's weak defocus once the lens
 * model predicts the shape of each focus curve; confidence ranks error in both.
 */
describe.skipIf(!hasSharedData("rgbd/redwood-00001"))(
  "DFF on stacks synthesized from real RGB-D",
  async () => {
    const rgbd = join(SHARED_DATA, "rgbd", "redwood-00001");
    const [rgb, depth] = await Promise.all([
      readFile(join(rgbd, "rgb.jpg")),
      readFile(join(rgbd, "depth_mm.png")),
    ]);

    it("large aperture, 5 frames: the confident 30% are accurate and far better than all pixels", async () => {
      const dir = await tempDir();
      await synthesizeCapture(rgb, depth, dir, {
        ...RENDER,
        lens: LARGE_APERTURE_LENS,
        frames: 5,
        seed: 3,
      });
      const [row] = await evaluateCapture(await loadCaptureDir(dir), ["dff"]);
      expect(row!.confident.absRel).toBeLessThan(0.06);
      expect(row!.confident.d1).toBeGreaterThan(0.95);
      expect(row!.confident.absRel).toBeLessThan(0.5 * row!.all.absRel);
      expect(row!.all.absRel).toBeLessThan(0.15);
      // Confidence as a prediction: the error it stands for is right within a factor of 2.
      expect(row!.calibration!.count).toBeGreaterThan(50_000);
      expect(row!.calibration!.errorOverSigma68).toBeLessThan(2);
    });

    it("phone camera: the lens model makes weak defocus usable, and confidence still ranks error", async () => {
      const dir = await tempDir();
      await synthesizeCapture(rgb, depth, dir, { ...RENDER, lens: PHONE_LENS, frames: 5, seed: 3 });
      const [row] = await evaluateCapture(await loadCaptureDir(dir), ["dff"]);
      // The peak-and-two-neighbours DFF had 0.22 on the confident 30% and 0.24 overall here.
      expect(row!.all.absRel).toBeLessThan(0.15);
      expect(row!.confident.absRel).toBeLessThan(0.1);
      expect(row!.confident.absRel).toBeLessThan(0.7 * row!.all.absRel);
      expect(row!.calibration!.errorOverSigma68).toBeLessThan(2);
    });

    /** One synthesized capture's DFF with the camera's optics, then with the blur fitted. */
    async function withAndWithoutOptics(lens: typeof PHONE_LENS) {
      const dir = await tempDir();
      await synthesizeCapture(rgb, depth, dir, { ...RENDER, lens, frames: 5, seed: 3 });
      const source = await loadCaptureDir(dir);
      const known = await runPipeline(source, { stage: "dff" });
      delete source.capture.camera;
      return { source, known, fitted: await runPipeline(source, { stage: "dff" }) };
    }

    it("without optics in the capture, the blur per diopter fitted to the stack does nearly as well", async () => {
      const { source, known, fitted } = await withAndWithoutOptics(LARGE_APERTURE_LENS);
      expect(known.result.optics?.source).toBe("capture");
      expect(fitted.result.optics?.source).toBe("fitted");
      const ratio = fitted.result.optics!.blurPxPerDiopter / known.result.optics!.blurPxPerDiopter;
      expect(Math.abs(Math.log(ratio))).toBeLessThan(Math.log(1.3));
      const [row] = await evaluateCapture(source, ["dff"]);
      expect(row!.all.absRel).toBeLessThan(0.1);
    });

    it("without optics, a phone's weak defocus at 640 px is flagged: the fit sits on its lowest scale", async () => {
      const { known, fitted } = await withAndWithoutOptics(PHONE_LENS);
      const flagged = (w: string[]) => w.filter((m) => m.startsWith("blur fitted at the lowest"));
      expect(flagged(known.result.warnings)).toEqual([]);
      expect(flagged(fitted.result.warnings)).toHaveLength(1);
    });
  },
);
