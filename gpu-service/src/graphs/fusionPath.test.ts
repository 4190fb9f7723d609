import { afterEach, describe, expect, it, vi } from "vitest";
import { HybridDepthError } from "#shared/errors.ts";
import { loadConfig } from "../server/config.ts";
import { focusMeasureGraph } from "./focusMeasure.ts";
import {
  CPU_GRAPH_MAX_WORK_PIXELS,
  DEFAULT_FUSION,
  FUSION_ENV,
  fusionPlan,
  planPath,
} from "./fusionPath.ts";
import { profileGraph } from "./graphSession.ts";
import { noise } from "./testInputs.ts";

describe("fusion path switch", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("takes the option, else HYBRIDDEPTH_FUSION, else the provider's default per stage", () => {
    vi.stubEnv(FUSION_ENV, undefined);
    expect(fusionPlan(undefined, "cpu")).toEqual(DEFAULT_FUSION.cpu);
    // On the CPU the lens fit and refinement leave their graphs above a work size; CUDA keeps
    // every graph.
    expect(fusionPlan(undefined, "cpu", 640 * 480)).toEqual(DEFAULT_FUSION.cpu);
    expect(fusionPlan(undefined, "cpu", CPU_GRAPH_MAX_WORK_PIXELS)).toEqual(DEFAULT_FUSION.cpu);
    expect(fusionPlan(undefined, "cpu", 2040 * 1536)).toEqual({
      ...DEFAULT_FUSION.cpu,
      lensFit: "js",
      refinement: "js",
    });
    expect(fusionPlan(undefined, "cuda", 2040 * 1536)).toEqual(DEFAULT_FUSION.cuda);
    expect(planPath(fusionPlan(undefined, "cpu"))).toBe("mixed");
    expect(planPath(fusionPlan(undefined, "cuda"))).toBe("graph");
    vi.stubEnv(FUSION_ENV, "graph");
    expect(planPath(fusionPlan(undefined, "cpu"))).toBe("graph");
    expect(fusionPlan("js", "cpu")).toEqual({
      focusMeasure: "js",
      warp: "js",
      lensFit: "js",
      refinement: "js",
    });
  });

  it("refuses an unknown HYBRIDDEPTH_FUSION with a clear error", () => {
    vi.stubEnv(FUSION_ENV, "gpu");
    expect(() => fusionPlan(undefined, "cpu")).toThrow(HybridDepthError);
    // The GPU service refuses it at start, before any job.
    expect(() => loadConfig({ HYBRIDDEPTH_DEV: "1", HYBRIDDEPTH_FUSION: "gpu" })).toThrow(
      /invalid configuration: HYBRIDDEPTH_FUSION/,
    );
    expect(
      loadConfig({ HYBRIDDEPTH_DEV: "1", HYBRIDDEPTH_FUSION: "graph" }).HYBRIDDEPTH_FUSION,
    ).toBe("graph");
    expect(() => fusionPlan(undefined, "cpu")).toThrow(
      /HYBRIDDEPTH_FUSION=gpu: expected one of graph, js/,
    );
  });
});

describe("node placement from onnxruntime's profile", () => {
  it("names every node of a graph and its provider", async () => {
    const [w, h] = [24, 16];
    const graph = focusMeasureGraph(w, h, 2);
    const p = await profileGraph(() => graph, {
      gray: { data: noise(w * h), dims: [1, 1, h, w] },
    });
    expect(p.provider).toBe("cpu");
    const nodes = Object.keys(p.placement);
    // Every op of the graph shows up (the optimizer may fuse or drop Identity).
    for (const op of graph.ops)
      if (op !== "Identity")
        expect(
          nodes.some((n) => n.startsWith(`${op}_`)),
          op,
        ).toBe(true);
    expect(new Set(Object.values(p.placement))).toEqual(new Set(["CPUExecutionProvider"]));
    expect(p.tensorBytes).toBeGreaterThanOrEqual(2 * 4 * w * h);
  });
});
