import { HybridDepthError } from "#shared/errors.ts";
import { FUSION_PATHS, type FusionPath } from "#shared/pipeline/result.ts";
import { type Provider, requestedProviders } from "../prior/priorRunner.ts";

/** Environment variable that picks the fusion path: graph (ONNX) or js (the reference). */
export const FUSION_ENV = "HYBRIDDEPTH_FUSION";
/** Set to 1 to have result.json name each graph node's execution provider. */
export const PLACEMENT_ENV = "HYBRIDDEPTH_FUSION_PLACEMENT";

/**
 * The default per provider, from `npm run bench` (bench/graphs.bench.ts): on the CPU provider
 * the TypeScript running sums beat the graphs' convolutions (see README, "Fusion graphs"), so
 * js stays the CPU default; on CUDA the graphs run where the prior does.
 */
export const DEFAULT_FUSION: Record<Provider, FusionPath> = { cpu: "js", cuda: "graph" };

/** The fusion path: the one asked for, else HYBRIDDEPTH_FUSION, else the provider's default. */
export function fusionPath(
  asked?: FusionPath,
  provider: Provider = requestedProviders()[0] ?? "cpu",
): FusionPath {
  if (asked) return asked;
  const env = process.env[FUSION_ENV]?.trim();
  if (!env) return DEFAULT_FUSION[provider];
  if (!(FUSION_PATHS as readonly string[]).includes(env))
    throw new HybridDepthError(
      "INVALID_ARGUMENT",
      `${FUSION_ENV}=${env}: expected one of ${FUSION_PATHS.join(", ")}`,
    );
  return env as FusionPath;
}

export function placementAsked(): boolean {
  return process.env[PLACEMENT_ENV] === "1";
}
