import type { Stage } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { resizeNearest } from "#shared/image/resample.ts";
import { type DepthMetrics, depthMetrics, topConfidentMask } from "#shared/metrics/depthMetrics.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { decodeGray16 } from "../io/decodeImage.ts";
import { type PipelineOptions, runPipeline } from "../pipeline/runPipeline.ts";

export interface EvalRow {
  capture: string;
  stage: Stage;
  /** Over every pixel with valid ground truth. */
  all: DepthMetrics;
  /** Over the `confidentFraction` most confident of those pixels. */
  confident: DepthMetrics;
  timingsMs: Record<string, number>;
}

export const DEFAULT_CONFIDENT_FRACTION = 0.3;

/** Runs one stage on a capture with `gt_depth.png` and scores it. */
export async function evaluateCapture(
  source: CaptureSource,
  stage: Stage,
  options: Partial<PipelineOptions> = {},
  confidentFraction = DEFAULT_CONFIDENT_FRACTION,
): Promise<EvalRow> {
  const gtBytes = await source.readGroundTruth();
  if (!gtBytes)
    throw new HybridDepthError(
      "GROUND_TRUTH_MISSING",
      `${source.name}: no gt_depth.png to evaluate against`,
    );
  const out = await runPipeline(source, { ...options, stage });
  const raw = await decodeGray16(gtBytes, `${source.name}/gt_depth.png`);
  const { width: w, height: h } = out.depth;
  const mm =
    raw.width === w && raw.height === h
      ? raw.data
      : resizeNearest(raw.data, raw.width, raw.height, w, h);
  const gt = Float32Array.from(mm, (v) => v / 1000);
  const eligible = Uint8Array.from(gt, (g) => (g > 0 ? 1 : 0));
  return {
    capture: source.name,
    stage,
    all: depthMetrics(out.depth.data, gt),
    confident: depthMetrics(
      out.depth.data,
      gt,
      topConfidentMask(out.confidence.data, confidentFraction, eligible),
    ),
    timingsMs: out.result.timingsMs,
  };
}

/** Mean of each metric over rows (coverage and counts too). */
export function averageMetrics(rows: readonly DepthMetrics[]): DepthMetrics {
  const keys = Object.keys(rows[0]!) as (keyof DepthMetrics)[];
  return Object.fromEntries(
    keys.map((k) => [k, rows.reduce((s, r) => s + r[k], 0) / rows.length]),
  ) as unknown as DepthMetrics;
}
