import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { evaluateCapture } from "../gpu-service/src/eval/evaluateCapture.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import {
  LARGE_APERTURE_LENS,
  PHONE_LENS,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { hasSharedData, SHARED_DATA } from "./helpers/sharedData.ts";

/**
 * Depth from focus on stacks synthesized from real RGB-D (../shared/data/rgbd): accurate where it
 * is confident with a large aperture; with a phone's weak defocus, the confidence says so.
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
      await synthesizeCapture(rgb, depth, dir, { lens: LARGE_APERTURE_LENS, frames: 5, seed: 3 });
      const [row] = await evaluateCapture(await loadCaptureDir(dir), ["dff"]);
      expect(row!.confident.absRel).toBeLessThan(0.06);
      expect(row!.confident.d1).toBeGreaterThan(0.95);
      expect(row!.confident.absRel).toBeLessThan(0.5 * row!.all.absRel);
      expect(row!.all.absRel).toBeLessThan(0.15);
    });

    it("phone camera: weak defocus shows as low confidence, not as false certainty", async () => {
      const [phone, large] = await Promise.all([tempDir(), tempDir()]);
      await synthesizeCapture(rgb, depth, phone, { lens: PHONE_LENS, frames: 5, seed: 3 });
      await synthesizeCapture(rgb, depth, large, { lens: LARGE_APERTURE_LENS, frames: 5, seed: 3 });
      const meanConfidence = async (dir: string) => {
        const out = await runPipeline(await loadCaptureDir(dir));
        return {
          mean: out.confidence.data.reduce((a, b) => a + b, 0) / out.confidence.data.length,
          coverage: out.result.coverage,
          warnings: out.result.warnings,
        };
      };
      const p = await meanConfidence(phone);
      const l = await meanConfidence(large);
      expect(p.mean).toBeLessThan(0.5 * l.mean);
      expect(p.coverage).toBeLessThan(0.05);
      expect(p.warnings.join(" ")).toMatch(/confident focus peak/);
    });
  },
);
