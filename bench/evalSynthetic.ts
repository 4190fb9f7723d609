/**
 * The evaluation set of the core issues: stacks synthesized from every RGB-D sample in
 * ../shared/data/rgbd with two cameras (phone: 9 mm f/1.8, 8 mm sensor; large aperture: 25 mm
 * f/2, 12 mm sensor) and 5 and 10 frames, then `eval` over them (all stages given as args).
 *   npm run eval:synthetic -- [stage...]
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { main } from "../gpu-service/src/cli/main.ts";
import {
  LARGE_APERTURE_LENS,
  PHONE_LENS,
  synthesizeCapture,
} from "../gpu-service/src/synth/synthesizeCapture.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { SHARED_DATA } from "../test/helpers/sharedData.ts";

const rgbdRoot = join(SHARED_DATA, "rgbd");
const scenes = (await readdir(rgbdRoot, { withFileTypes: true }))
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const root = await tempDir("hybriddepth-evalset-");
const captures: string[] = [];
for (const scene of scenes) {
  const [rgb, depth] = await Promise.all([
    readFile(join(rgbdRoot, scene, "rgb.jpg")),
    readFile(join(rgbdRoot, scene, "depth_mm.png")),
  ]);
  for (const [camera, lens] of [
    ["phone", PHONE_LENS],
    ["large", LARGE_APERTURE_LENS],
  ] as const) {
    for (const frames of [5, 10]) {
      const dir = join(root, `${scene}-${camera}-${frames}`);
      await synthesizeCapture(rgb, depth, dir, { lens, frames });
      captures.push(dir);
    }
  }
}
const stages = process.argv.slice(2);
process.exitCode = await main([
  "eval",
  ...captures,
  "--stage",
  ...(stages.length ? stages : ["dff"]),
]);
