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
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { hasSharedData, hasSharedModels, SHARED_DATA } from "./helpers/sharedData.ts";

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
        await synthesizeCapture(rgb, depth, dir, { lens, frames: 5, seed: 11 });
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

    it("phone: 10 frames are at least as good as 5 (full AbsRel and δ1)", async () => {
      const score = async (frames: number) => {
        const dir = await tempDir();
        await synthesizeCapture(rgb, depth, dir, { lens: PHONE_LENS, frames, seed: 11 });
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
