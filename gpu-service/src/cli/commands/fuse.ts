import { Command, Option } from "commander";
import { STAGES, type Stage } from "#shared/capture/schema.ts";
import { loadCaptureDir } from "../../capture/loadCaptureDir.ts";
import { writeOutputs } from "../../output/writeOutputs.ts";
import { DEFAULT_MAX_WORK_PIXELS, runPipeline } from "../../pipeline/runPipeline.ts";
import { integerIn, positiveNumber } from "../parseArgs.ts";
import { priorFor } from "../priorOption.ts";

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
      new Option("--stage <stage>", "pipeline stage to run up to").choices(STAGES).default("full"),
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
    .option(
      "--model <name|path>",
      "depth prior: a registry name or its .onnx file (default: the best one found)",
    )
    .option("--save-prior", "also write prior.npy: the prior's relative inverse depth")
    .option("--quiet", "print nothing on success")
    .action(async (capturePath: string, opts: FuseArgs) => {
      const source = await loadCaptureDir(capturePath);
      const prior = await priorFor(opts.stage, opts.model);
      const out = await runPipeline(source, {
        stage: opts.stage,
        maxWorkPixels: opts.maxMegapixels * 1e6,
        register: opts.register,
        ...(prior ? { prior } : {}),
        ...(opts.window ? { windowRadius: opts.window } : {}),
      });
      const files = await writeOutputs(opts.out, out, { prior: opts.savePrior === true });
      const r = out.result;
      // Warnings go to stderr even with --quiet: a fallback must never pass unnoticed.
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (opts.quiet) return;
      const t = Object.entries(r.timingsMs)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(", ");
      const model = r.model ? ` with ${r.model} on ${r.provider}` : "";
      process.stdout.write(
        `${source.name}: ${r.stage} depth ${r.width}×${r.height} from ${source.capture.frames.length} frames${model}, ` +
          `${(r.coverage * 100).toFixed(1)}% focus-confident (${t})\n` +
          `wrote ${files.join(", ")}\n`,
      );
    });
}

interface FuseArgs {
  out: string;
  stage: Stage;
  maxMegapixels: number;
  window?: number;
  register: boolean;
  model?: string;
  savePrior?: boolean;
  quiet?: boolean;
}
