import { Command, Option } from "commander";
import { STAGES } from "#shared/capture/schema.ts";
import { loadCaptureDir } from "../../capture/loadCaptureDir.ts";
import { writeOutputs } from "../../output/writeOutputs.ts";
import { DEFAULT_MAX_WORK_PIXELS, runPipeline } from "../../pipeline/runPipeline.ts";
import { integerIn, positiveNumber } from "../parseArgs.ts";

export function fuseCommand(): Command {
  return new Command("fuse")
    .description(
      "estimate metric depth from a focal stack (capture folder, capture.json, or image_<n>_<metres>.jpg frames)",
    )
    .argument("<capture>", "capture folder or capture.json")
    .requiredOption(
      "--out <dir>",
      "folder for depth.png, depth.npy, confidence.png, aif.png, preview.png, result.json",
    )
    .addOption(
      new Option("--stage <stage>", "pipeline stage to run up to").choices(STAGES).default("dff"),
    )
    .option(
      "--max-megapixels <mp>",
      "work resolution cap: frames are resampled to at most this many megapixels",
      positiveNumber,
      DEFAULT_MAX_WORK_PIXELS / 1e6,
    )
    .option(
      "--window <px>",
      "focus-measure window radius in work pixels (default: scales with the image)",
      integerIn(1, 64),
    )
    .option("--no-register", "skip registration (only for stacks known to be aligned)")
    .option("--quiet", "print nothing on success")
    .action(
      async (
        capturePath: string,
        opts: {
          out: string;
          stage: (typeof STAGES)[number];
          maxMegapixels: number;
          window?: number;
          register: boolean;
          quiet?: boolean;
        },
      ) => {
        const source = await loadCaptureDir(capturePath);
        const out = await runPipeline(source, {
          stage: opts.stage,
          maxWorkPixels: opts.maxMegapixels * 1e6,
          register: opts.register,
          ...(opts.window ? { windowRadius: opts.window } : {}),
        });
        await writeOutputs(opts.out, out);
        if (opts.quiet) return;
        const r = out.result;
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        const t = Object.entries(r.timingsMs)
          .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
          .join(", ");
        process.stdout.write(
          `${source.name}: ${r.stage} depth ${r.width}×${r.height} from ${source.capture.frames.length} frames, ` +
            `${(r.coverage * 100).toFixed(1)}% confident (${t})\n` +
            `wrote ${opts.out}/{depth.png,depth.npy,confidence.png,aif.png,preview.png,result.json}\n`,
        );
      },
    );
}
