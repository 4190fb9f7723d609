import type { Stage } from "#shared/capture/schema.ts";
import { CONFIDENCE_TAU } from "#shared/dff/accumulator.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { resizeNearest } from "#shared/image/resample.ts";
import {
  type ConfidenceCalibration,
  confidenceCalibration,
} from "#shared/metrics/confidenceCalibration.ts";
import { type DepthMetrics, depthMetrics, topConfidentMask } from "#shared/metrics/depthMetrics.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { decodeGray16 } from "../io/decodeImage.ts";
import { type PipelineOptions, runPipeline } from "../pipeline/runPipeline.ts";

export interface EvalRow {
  capture: string;
  stage: Stage;
  model: string | null;
  /** Over every pixel with valid ground truth. */
  all: DepthMetrics;
  /** Over the `confidentFraction` pixels of highest focus confidence among those. */
  confident: DepthMetrics;
  /** For `dff` (whose error the confidence predicts): how well it predicts it. */
  calibration?: ConfidenceCalibration;
  timingsMs: Record<string, number>;
}

export const DEFAULT_CONFIDENT_FRACTION = 0.3;

const ORDER: readonly Stage[] = ["dff", "aligned", "full"];

/**
 * Runs the pipeline once, up to the last stage asked for, and scores each asked stage's depth
 * against the capture's gt_depth.png.
 */
export async function evaluateCapture(
  source: CaptureSource,
  stages: readonly Stage[],
  options: Partial<PipelineOptions> = {},
  confidentFraction = DEFAULT_CONFIDENT_FRACTION,
): Promise<EvalRow[]> {
  const gtBytes = await source.readGroundTruth();
  if (!gtBytes) {
    throw new HybridDepthError(
      "GROUND_TRUTH_MISSING",
      `${source.name}: no gt_depth.png to evaluate against`,
    );
  }
  const last = ORDER.filter((s) => stages.includes(s)).at(-1) ?? "dff";
  const out = await runPipeline(source, { ...options, stage: last });
  const raw = await decodeGray16(gtBytes, `${source.name}/gt_depth.png`);
  const { width: w, height: h } = out.depth;
  const mm =
    raw.width === w && raw.height === h
      ? raw.data
      : resizeNearest(raw.data, raw.width, raw.height, w, h);
  const gt = Float32Array.from(mm, (v) => v / 1000);
  const eligible = Uint8Array.from(gt, (g) => (g > 0 ? 1 : 0));
  const top = topConfidentMask(out.confidence.data, confidentFraction, eligible);
  return stages.map((stage) => {
    const depth = out.stageDepths[stage];
    if (!depth) {
      throw new HybridDepthError(
        "INVALID_ARGUMENT",
        `${source.name}: stage ${stage} did not run (${out.result.fallbacks.join("; ")})`,
      );
    }
    return {
      capture: source.name,
      stage,
      model: stage === "dff" ? null : out.result.model,
      all: depthMetrics(depth, gt),
      confident: depthMetrics(depth, gt, top),
      ...(stage === "dff"
        ? { calibration: confidenceCalibration(depth, gt, out.confidence.data, CONFIDENCE_TAU) }
        : {}),
      timingsMs: out.result.timingsMs,
    };
  });
}

/** Mean of each metric over rows (coverage and counts too). */
export function averageMetrics(rows: readonly DepthMetrics[]): DepthMetrics {
  const keys = Object.keys(rows[0]!) as (keyof DepthMetrics)[];
  return Object.fromEntries(
    keys.map((k) => [k, rows.reduce((s, r) => s + r[k], 0) / rows.length]),
  ) as unknown as DepthMetrics;
}
