import { HybridDepthError } from "#shared/errors.ts";
import { FUSION_PATHS, type FusionPath } from "#shared/pipeline/result.ts";
import { type Provider, requestedProviders } from "../prior/priorRunner.ts";

/** Environment variable that picks the fusion path: graph (ONNX) or js (the reference). */
export const FUSION_ENV = "HYBRIDDEPTH_FUSION";
/** Set to 1 to have result.json name each graph node's execution provider. */
export const PLACEMENT_ENV = "HYBRIDDEPTH_FUSION_PLACEMENT";

/** The per-pixel stages that have a graph twin. */
export const FUSION_STAGES = ["focusMeasure", "warp", "lensFit", "refinement"] as const;
export type FusionStage = (typeof FUSION_STAGES)[number];
/** Which way each stage runs. */
export type FusionPlan = Record<FusionStage, FusionPath>;

const every = (path: FusionPath): FusionPlan =>
  Object.fromEntries(FUSION_STAGES.map((s) => [s, path])) as FusionPlan;

/**
 * The default per provider and stage, from `npm run bench:graphs` (bench/graphs.bench.ts): on the
 * CPU provider the TypeScript running sums beat the focus-measure and warp graphs, while the
 * lens-fit graphs (DFF's fit and finish: 0.47 of the TypeScript in row bands on every thread at
 * 12 MP in that isolated bench, even at 640×480) and the refinement graph win, on one intra-op
 * thread too (as on the service's pipeline thread): see README, "Fusion graphs". Inside the
 * pipeline neither wins at large frames: `fusionPlan` takes both to TypeScript above
 * `CPU_GRAPH_MAX_WORK_PIXELS`. On CUDA every stage is a graph (a warped frame's focus measure
 * and warp as the one frame graph, frameGraph.ts).
 */
export const DEFAULT_FUSION: Record<Provider, FusionPlan> = {
  cpu: { focusMeasure: "js", warp: "js", lensFit: "graph", refinement: "graph" },
  cuda: every("graph"),
};

/**
 * Above this many work pixels the CPU default runs the lens fit and the refinement in TypeScript
 * row bands. Inside the pipeline at the 12 MP stack's work size (3.1 MP, 2 threads):
 * - the lens fit took as long as its graphs (DFF finish 126–220 ms against 130–243, warm), whose
 *   first run at a new shape took twice as long (846–950 ms against 434–452);
 * - the refinement took as long as its graph once glibc kept to 2 malloc arenas (102–184 ms
 *   against 118–175, infra/gpu-service/entrypoint.sh);
 * - each graph's onnxruntime arena added to the peak with 2 jobs in flight (bench/memory.bench.ts):
 *   ≈ 200 MiB the lens fit's, ≈ 120 MiB the refinement's (median 1405 against 1525 MiB).
 * At 640×480 the graphs win (DFF stage 0.89–0.95 of TypeScript), so they stay there.
 */
export const CPU_GRAPH_MAX_WORK_PIXELS = 1_000_000;

/**
 * The plan: every stage the way asked, else as HYBRIDDEPTH_FUSION says (graph|js), else the
 * provider's default for a frame of `workPixels` (when given).
 */
export function fusionPlan(
  asked?: FusionPath,
  provider: Provider = requestedProviders()[0] ?? "cpu",
  workPixels?: number,
): FusionPlan {
  if (asked) return every(asked);
  const env = process.env[FUSION_ENV]?.trim();
  if (!env) {
    const plan = { ...DEFAULT_FUSION[provider] };
    if (provider === "cpu" && workPixels !== undefined && workPixels > CPU_GRAPH_MAX_WORK_PIXELS) {
      plan.lensFit = "js";
      plan.refinement = "js";
    }
    return plan;
  }
  if (!(FUSION_PATHS as readonly string[]).includes(env))
    throw new HybridDepthError(
      "INVALID_ARGUMENT",
      `${FUSION_ENV}=${env}: expected one of ${FUSION_PATHS.join(", ")}`,
    );
  return every(env as FusionPath);
}

/** "graph" or "js" when every stage runs that way, else "mixed". */
export function planPath(plan: FusionPlan): FusionPath | "mixed" {
  const ways = new Set(Object.values(plan));
  return ways.size === 1 ? [...ways][0]! : "mixed";
}

export function placementAsked(): boolean {
  return process.env[PLACEMENT_ENV] === "1";
}
