import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { depthMetrics } from "#shared/metrics/depthMetrics.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { decodeGray16 } from "../io/decodeImage.ts";
import { findModelFile, loadRegistry, modelSearchDirs } from "../prior/modelStore.ts";
import { loadPrior } from "../prior/priorRunner.ts";
import { runPipeline } from "./runPipeline.ts";

const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");
const pydnet = (await loadRegistry()).find((s) => s.name === "pydnet-pp")!;
const pydnetPath = findModelFile(pydnet, modelSearchDirs());

describe.skipIf(!pydnetPath)("refine: solve (global edge-aware solve)", () => {
  it("runs in TypeScript whatever the fusion path and scores as the guided filters do", async () => {
    const source = await loadCaptureDir(SAMPLE);
    const prior = await loadPrior({ spec: pydnet, path: pydnetPath! }, ["cpu"]);
    const raw = await decodeGray16((await source.readGroundTruth())!, "gt");
    const gt = Float32Array.from(raw.data, (v) => v / 1000);
    const solve = await runPipeline(source, { stage: "full", prior, refine: "solve" });
    expect(solve.result.fusion?.stages.refinement).toBe("js");
    const guided = await runPipeline(source, { stage: "full", prior, fusion: "js" });
    const s = depthMetrics(solve.stageDepths.full!, gt).absRel;
    const g = depthMetrics(guided.stageDepths.full!, gt).absRel;
    const a = depthMetrics(solve.stageDepths.aligned!, gt).absRel;
    // The solve corrects the aligned prior as the passes do, within a tenth of their error.
    expect(s).toBeLessThan(0.75 * a);
    expect(Math.abs(s - g)).toBeLessThan(0.1 * g);
    // A different estimate, not the passes under another name.
    expect(guided.stageDepths.full).not.toEqual(solve.stageDepths.full);
  });
});
