import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ResultSchema } from "#shared/pipeline/result.ts";
import { hasSharedData, SHARED_DATA } from "../../../test/helpers/sharedData.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { runPipeline } from "../pipeline/runPipeline.ts";
import { findModelFile, loadRegistry, modelSearchDirs } from "../prior/modelStore.ts";
import { loadPrior, type Prior } from "../prior/priorRunner.ts";
import { PHONE_LENS, synthesizeCapture } from "../synth/synthesizeCapture.ts";
import { tempDir } from "../testing/fixtures.ts";
import { writeChannelMeanModel } from "../testing/tinyOnnx.ts";
import { DEFAULT_FUSION, FUSION_ENV } from "./fusionPath.ts";
import { graphTransfers, resetGraphTransfers } from "./graphSession.ts";
import { SAMPLE } from "./testInputs.ts";

/** Mean |a − b| / b over pixels where b is a positive depth: AbsRel of one path against the other. */
function absRel(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    if (!(b[i]! > 0)) continue;
    sum += Math.abs(a[i]! - b[i]!) / b[i]!;
    n++;
  }
  return sum / n;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** pydnet-pp when present (../shared/models), else a tiny real ONNX model: a prior either way. */
async function anyPrior(): Promise<Prior> {
  const pydnet = (await loadRegistry()).find((s) => s.name === "pydnet-pp")!;
  const path = findModelFile(pydnet, modelSearchDirs());
  if (path) return loadPrior({ spec: pydnet, path }, ["cpu"]);
  const dir = await tempDir();
  dirs.push(dir);
  const file = await writeChannelMeanModel(dir);
  const spec = { ...pydnet, bytes: null, input: { ...pydnet.input, name: "image" } };
  return loadPrior({ spec: { ...spec, output: { ...pydnet.output, name: "depth" } }, path: file }, [
    "cpu",
  ]);
}

async function compare(source: () => Promise<CaptureSource>): Promise<Record<string, string>> {
  const prior = await anyPrior();
  const js = await runPipeline(await source(), { stage: "full", prior, fusion: "js" });
  const graph = await runPipeline(await source(), {
    stage: "full",
    prior,
    fusion: "graph",
    placement: true,
  });
  expect(js.result.stage).toBe("full");
  expect(graph.result.stage).toBe("full");
  for (const stage of ["dff", "aligned", "full"] as const)
    expect(absRel(graph.stageDepths[stage]!, js.stageDepths[stage]!), stage).toBeLessThan(0.002);
  // result.json says which path ran where, and (asked) each graph node's provider.
  const said = ResultSchema.parse(JSON.parse(JSON.stringify(graph.result))).fusion!;
  expect(said.path).toBe("graph");
  expect(said.stages).toMatchObject({ focusMeasure: "cpu", lensFit: "cpu", refinement: "cpu" });
  expect(new Set(Object.values(said.stages))).toEqual(new Set(["cpu"]));
  // A registered frame's focus measure and warp ran as the one frame graph.
  expect(Object.keys(said.placement!)).toEqual(["focusMeasure", "frame", "lensFit", "refinement"]);
  for (const nodes of Object.values(said.placement!))
    expect(new Set(Object.values(nodes))).toEqual(new Set(["CPUExecutionProvider"]));
  expect(js.result.fusion?.path).toBe("js");
  expect(Object.keys(js.result.fusion!.stages).sort()).toEqual(Object.keys(said.stages).sort());
  expect(new Set(Object.values(js.result.fusion!.stages))).toEqual(new Set(["js"]));
  return said.stages;
}

describe("whole pipeline, graph fusion against the TypeScript reference", () => {
  it("samples/redwood-00000: depth within 0.002 AbsRel at every stage", async () => {
    const stages = await compare(() => loadCaptureDir(SAMPLE));
    // Its frames are registered and warped: the warp graph ran too.
    expect(stages.warp).toBe("cpu");
  });

  it("on the graph path a warped frame crosses to the device once and back once", async () => {
    // One pipeline thread: every graph run is counted on this one.
    resetGraphTransfers();
    const out = await runPipeline(await loadCaptureDir(SAMPLE), {
      stage: "full",
      prior: await anyPrior(),
      fusion: "graph",
      threads: 1,
    });
    const { width: w, height: h } = out.result;
    const frames = out.result.registration.length;
    const warped = out.result.registration.filter(
      (r) => r.scale !== 1 || r.rotationDeg !== 0 || r.shiftPx.some(Boolean),
    );
    const t = graphTransfers();
    expect(t.byGraph.warp).toBeUndefined();
    // Samples (3 B) + transform up; focus, RGB floats (16 B) and the byte mask down.
    expect(t.byGraph.frame).toBe(warped.length * (20 * w * h + 24));
    // The others (the reference, frames registered at the identity): gray up, focus down.
    expect(t.byGraph.focusMeasure).toBe((frames - warped.length) * 8 * w * h);
    expect(warped.length).toBeGreaterThan(0);
  });

  it("by default on the CPU provider: the lens-fit and refinement graphs, the rest in TypeScript", async () => {
    const saved = process.env[FUSION_ENV];
    delete process.env[FUSION_ENV];
    try {
      const out = await runPipeline(await loadCaptureDir(SAMPLE), {
        stage: "full",
        prior: await anyPrior(),
      });
      expect(out.result.fusion).toEqual({
        path: "mixed",
        stages: { ...DEFAULT_FUSION.cpu, lensFit: "cpu", refinement: "cpu" },
      });
    } finally {
      if (saved !== undefined) process.env[FUSION_ENV] = saved;
    }
  });

  it.skipIf(!hasSharedData("rgbd/redwood-00001"))(
    "a stack synthesized from ../shared/data/rgbd (as eval:synthetic): within 0.002 AbsRel",
    async () => {
      const scene = join(SHARED_DATA, "rgbd", "redwood-00001");
      const dir = await tempDir();
      dirs.push(dir);
      const [rgb, depth] = await Promise.all(
        ["rgb.jpg", "depth_mm.png"].map(
          async (f) => new Uint8Array(await readFile(join(scene, f))),
        ),
      );
      await synthesizeCapture(rgb!, depth!, dir, { lens: PHONE_LENS, frames: 5 });
      await compare(() => loadCaptureDir(dir));
    },
  );
});
