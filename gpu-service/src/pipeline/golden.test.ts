import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/auth/hmac.ts";
import type { Stage } from "#shared/capture/schema.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { findModelFile, loadRegistry, modelSearchDirs } from "../prior/modelStore.ts";
import { loadPrior } from "../prior/priorRunner.ts";
import { runPipeline } from "./runPipeline.ts";

/**
 * The bundled sample's depth at each stage, quantised to whole millimetres, hashed, against
 * the digests recorded for the current PIPELINE_VERSION (golden.json). A change to the math
 * that changes any depth fails here until PIPELINE_VERSION is bumped (CHANGELOG.md) and the new
 * digests recorded: `GOLDEN_RECORD=1 npx vitest run --project gpu-service golden`.
 */
const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");
const GOLDEN = join(import.meta.dirname, "golden.json");

/** Millimetres as int32 (a depth is a metric answer; sub-millimetre noise is not a change). */
export async function depthDigest(depth: Float32Array): Promise<string> {
  const mm = new Int32Array(depth.length);
  for (let i = 0; i < depth.length; i++) mm[i] = Math.round(depth[i]! * 1000);
  return sha256Hex(new Uint8Array(mm.buffer));
}

const pydnet = (await loadRegistry()).find((s) => s.name === "pydnet-pp")!;
const pydnetPath = findModelFile(pydnet, modelSearchDirs());

describe.skipIf(!pydnetPath)("golden depths of samples/redwood-00000 (with pydnet-pp)", () => {
  it(`match the digests recorded for PIPELINE_VERSION ${PIPELINE_VERSION}`, async () => {
    const source = await loadCaptureDir(SAMPLE);
    const prior = await loadPrior({ spec: pydnet, path: pydnetPath! }, ["cpu"]);
    // The digests pin the TypeScript reference; the graphs are held to it within float32
    // rounding (graphs/fusionPath.pipeline.test.ts), which can move a depth across a millimetre.
    const out = await runPipeline(source, { stage: "full", prior, fusion: "js" });
    expect(out.result.stage).toBe("full");
    const digests: Partial<Record<Stage, string>> = {};
    for (const stage of ["dff", "aligned", "full"] as const)
      digests[stage] = await depthDigest(out.stageDepths[stage]!);
    const golden = JSON.parse(await readFile(GOLDEN, "utf8")) as Record<string, typeof digests>;
    if (process.env.GOLDEN_RECORD === "1") {
      golden[PIPELINE_VERSION] = digests;
      await writeFile(GOLDEN, `${JSON.stringify(golden, null, 2)}\n`);
    }
    expect(
      golden[PIPELINE_VERSION],
      `no digests recorded for PIPELINE_VERSION ${PIPELINE_VERSION}: record them (GOLDEN_RECORD=1)`,
    ).toBeDefined();
    // The recorded digests are those of an older pipeline: bump PIPELINE_VERSION, note it in CHANGELOG.md, record.
    expect(
      digests,
      "the depths changed: bump PIPELINE_VERSION (CHANGELOG.md), then record",
    ).toEqual(golden[PIPELINE_VERSION]);
  });
});
