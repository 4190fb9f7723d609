import { SingleBar } from "cli-progress";
import { Command, Option } from "commander";
import { STAGES, type Stage } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { DepthMetrics } from "#shared/metrics/depthMetrics.ts";
import { loadCaptureDir } from "../../capture/loadCaptureDir.ts";
import {
  averageMetrics,
  DEFAULT_CONFIDENT_FRACTION,
  type EvalRow,
  evaluateCapture,
} from "../../eval/evaluateCapture.ts";
import { DEFAULT_MAX_WORK_PIXELS } from "../../pipeline/runPipeline.ts";
import { positiveNumber } from "../parseArgs.ts";
import { priorFor } from "../priorOption.ts";

interface EvalArgs {
  model?: string;
  stage: Stage[];
  json?: boolean;
  top: number;
  maxMegapixels: number;
}

export function evalCommand(): Command {
  return new Command("eval")
    .description(
      "run the pipeline on captures with gt_depth.png and print AbsRel, SqRel, RMSE, RMSElog, δ1–3 and coverage",
    )
    .argument("<capture...>", "capture folders")
    .addOption(
      new Option("--stage <stage...>", "stages to evaluate (ablation)")
        .choices(STAGES)
        .default([...STAGES]),
    )
    .option(
      "--top <fraction>",
      "also score the most confident fraction of pixels",
      positiveNumber,
      DEFAULT_CONFIDENT_FRACTION,
    )
    .option(
      "--max-megapixels <mp>",
      "work resolution cap",
      positiveNumber,
      DEFAULT_MAX_WORK_PIXELS / 1e6,
    )
    .option("--model <name|path>", "depth prior for aligned and full (default: the best one found)")
    .option("--json", "print JSON instead of a table")
    .action(async (captures: string[], o: EvalArgs) => {
      const sources = await Promise.all(captures.map(loadCaptureDir));
      const bar = new SingleBar({
        format: "eval [{bar}] {value}/{total} {capture}",
        stream: process.stderr,
        hideCursor: true,
      });
      const show = sources.length * o.stage.length > 1 && !o.json;
      if (show) bar.start(sources.length * o.stage.length, 0, { capture: "" });
      const rows: EvalRow[] = [];
      const prior = await priorFor(
        o.stage.includes("dff") && o.stage.length === 1 ? "dff" : "full",
        o.model,
      );
      if (!prior && o.stage.some((s) => s !== "dff")) {
        throw new HybridDepthError(
          "MODEL_NOT_FOUND",
          "stages aligned and full need a depth prior model: run npm run models:pull, or evaluate --stage dff",
        );
      }
      for (const s of sources) {
        const opts = { maxWorkPixels: o.maxMegapixels * 1e6, ...(prior ? { prior } : {}) };
        rows.push(...(await evaluateCapture(s, o.stage, opts, o.top)));
        if (show) bar.increment(o.stage.length, { capture: s.name });
      }
      if (show) bar.stop();
      const means = o.stage.map((stage) => {
        const r = rows.filter((x) => x.stage === stage);
        return {
          stage,
          all: averageMetrics(r.map((x) => x.all)),
          confident: averageMetrics(r.map((x) => x.confident)),
        };
      });
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ topFraction: o.top, rows, mean: means }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(formatTable(rows, means, o.top));
    });
}

const COLS = ["AbsRel", "SqRel", "RMSE", "RMSElog", "δ1", "δ2", "δ3", "cov"] as const;

function metricCells(m: DepthMetrics): string[] {
  return [m.absRel, m.sqRel, m.rmse, m.rmseLog, m.d1, m.d2, m.d3, m.coverage].map((v) =>
    v.toFixed(3),
  );
}

export function formatTable(
  rows: readonly EvalRow[],
  means: readonly { stage: Stage; all: DepthMetrics; confident: DepthMetrics }[],
  top: number,
): string {
  const pct = `${Math.round(top * 100)}%`;
  const header = ["capture", "stage", ...COLS, `AbsRel@${pct}`, `δ1@${pct}`];
  const body = [
    ...rows.map((r) => [
      r.capture,
      r.stage,
      ...metricCells(r.all),
      r.confident.absRel.toFixed(3),
      r.confident.d1.toFixed(3),
    ]),
    ...means.map((m) => [
      "mean",
      m.stage,
      ...metricCells(m.all),
      m.confident.absRel.toFixed(3),
      m.confident.d1.toFixed(3),
    ]),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`;
  return line(header) + line(widths.map((w) => "-".repeat(w))) + body.map(line).join("");
}
