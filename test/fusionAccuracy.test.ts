import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { evaluateCapture } from "../gpu-service/src/eval/evaluateCapture.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import {
  LARGE_APERTURE_LENS,
  PHONE_LENS,
  SENSOR_SUPERSAMPLE,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { hasSharedData, hasSharedModels, SHARED_DATA } from "./helpers/sharedData.ts";

/** Rendered as the eval renders: a lens's sub-pixel blur shows (0.3.8). */
const RENDER = { supersample: SENSOR_SUPERSAMPLE };

/**
 * The whole HybridDepth pipeline with the real pydnet-pp prior on stacks synthesized from real
 * RGB-D: `full` beats both depth from focus alone and the globally aligned prior.
 */
describe.skipIf(!hasSharedData("rgbd/redwood-00002") || !hasSharedModels)(
  "full pipeline on synthesized real RGB-D",
  async () => {
    const rgbd = join(SHARED_DATA, "rgbd", "redwood-00002");
    const [rgb, depth] = await Promise.all([
      readFile(join(rgbd, "rgb.jpg")),
      readFile(join(rgbd, "depth_mm.png")),
    ]);
    const prior = await loadPrior((await resolveModel("pydnet-pp"))!);

    for (const [camera, lens, bound] of [
      ["large aperture", LARGE_APERTURE_LENS, 0.07],
      ["phone", PHONE_LENS, 0.11],
    ] as const) {
      it(`${camera}: full < aligned and full < dff (AbsRel), full under ${bound}`, async () => {
        const dir = await tempDir();
        await synthesizeCapture(rgb, depth, dir, { ...RENDER, lens, frames: 5, seed: 11 });
        const rows = await evaluateCapture(await loadCaptureDir(dir), ["dff", "aligned", "full"], {
          prior,
        });
        const [dff, aligned, full] = rows.map((r) => r.all);
        expect(full!.absRel).toBeLessThan(dff!.absRel);
        expect(full!.absRel).toBeLessThan(aligned!.absRel);
        expect(full!.absRel).toBeLessThan(bound);
        expect(full!.coverage).toBe(1);
      });
    }

    // Issue 15's goal, not met on this scene since its stacks show a lens's sub-pixel blur
    // (0.3.8, rendered at 2×: AbsRel 0.109 against 0.105, δ1 0.846 against 0.866; 0.3.7 on the
    // same kind of stacks was worse still, eval:synthetic's 10 ÷ 5 of 1.064 against 1.023). At
    // 0.3.7 on stacks rendered at size it passed. Expected to fail until that is solved: when it
    // passes, vitest fails it, and it becomes a plain test again.
    it.fails("phone: 10 frames are at least as good as 5 (full AbsRel and δ1; open, issue 15)", async () => {
      const score = async (frames: number) => {
        const dir = await tempDir();
        await synthesizeCapture(rgb, depth, dir, { ...RENDER, lens: PHONE_LENS, frames, seed: 11 });
        const [row] = await evaluateCapture(await loadCaptureDir(dir), ["full"], { prior });
        return row!.all;
      };
      const five = await score(5);
      const ten = await score(10);
      // The peak-and-two-neighbours DFF scored 0.133 with 5 frames and 0.157 with 10 here.
      expect(ten.absRel).toBeLessThanOrEqual(five.absRel + 0.002);
      expect(ten.d1).toBeGreaterThanOrEqual(five.d1 - 0.005);
    });
  },
);
