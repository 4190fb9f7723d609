import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { DEFAULT_SYNTH, PHONE_LENS, synthesizeCapture } from "../../synth/synthesizeCapture.ts";
import { integerIn, nonNegativeNumber, positiveList, positiveNumber } from "../parseArgs.ts";

interface SynthArgs {
  out: string;
  frames: number;
  depthScale: number;
  fnum: number;
  focalMm: number;
  sensorMm: number;
  focus?: number[];
  noise: number;
  jpegQuality: number;
  seed: number;
}

export function synthCommand(): Command {
  return new Command("synth")
    .description(
      "synthesize a focal stack (thin-lens, layered, occlusion-aware defocus) from an RGB image and a 16-bit depth PNG",
    )
    .argument("<rgb>", "RGB image (JPEG or PNG)")
    .argument("<depth_png>", "16-bit depth PNG, 0 = invalid")
    .requiredOption(
      "--out <dir>",
      "folder for the capture bundle (capture.json, frames, gt_depth.png)",
    )
    .option(
      "--frames <n>",
      "number of frames, focus spread evenly in diopters over the scene",
      integerIn(2, 64),
      DEFAULT_SYNTH.frames,
    )
    .option(
      "--depth-scale <s>",
      "metres per depth PNG unit",
      positiveNumber,
      DEFAULT_SYNTH.depthScale,
    )
    .option("--fnum <N>", "lens f-number", positiveNumber, PHONE_LENS.fNumber)
    .option("--focal-mm <f>", "lens focal length, mm", positiveNumber, PHONE_LENS.focalLengthMm)
    .option("--sensor-mm <w>", "sensor width, mm", positiveNumber, PHONE_LENS.sensorWidthMm)
    .option(
      "--focus <list>",
      "explicit focus distances in metres, comma-separated (overrides --frames)",
      positiveList,
    )
    .option(
      "--noise <sigma>",
      "sensor noise standard deviation, intensity units in [0, 1]",
      nonNegativeNumber,
      DEFAULT_SYNTH.noise,
    )
    .option(
      "--jpeg-quality <q>",
      "JPEG quality of the frames",
      integerIn(1, 100),
      DEFAULT_SYNTH.jpegQuality,
    )
    .option("--seed <n>", "noise seed", integerIn(0, 2 ** 31), DEFAULT_SYNTH.seed)
    .action(async (rgbPath: string, depthPath: string, o: SynthArgs) => {
      const [rgb, depth] = await Promise.all([readFile(rgbPath), readFile(depthPath)]);
      const capture = await synthesizeCapture(rgb, depth, o.out, {
        frames: o.frames,
        depthScale: o.depthScale,
        lens: { fNumber: o.fnum, focalLengthMm: o.focalMm, sensorWidthMm: o.sensorMm },
        noise: o.noise,
        jpegQuality: o.jpegQuality,
        seed: o.seed,
        ...(o.focus ? { focusM: o.focus } : {}),
      });
      const f = capture.frames.map((x) => x.focusDistance.toFixed(3)).join(", ");
      process.stdout.write(
        `wrote ${capture.frames.length} frames focused at ${f} m, capture.json and gt_depth.png to ${o.out}\n`,
      );
    });
}
