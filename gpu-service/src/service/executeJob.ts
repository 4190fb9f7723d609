import type { Capture } from "#shared/capture/schema.ts";
import type { PipelineResult } from "#shared/pipeline/result.ts";
import type { FuseOptions, OutputName } from "#shared/service/fuseJob.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { encodePng16, encodeRgb, floatToBytes, metresToMillimetres } from "../io/encodeImage.ts";
import { renderPreview } from "../output/preview.ts";
import { type PipelineOptions, runPipeline } from "../pipeline/runPipeline.ts";
import type { Prior } from "../prior/priorRunner.ts";

export interface JobOutputs {
  result: PipelineResult;
  parts: Partial<Record<OutputName, Uint8Array>>;
}

/** How a job's frames are read: in memory, or streamed in as the pipeline asks for them. */
export type FrameReader = Pick<CaptureSource, "readFrame" | "plan" | "release">;

/** Runs one job and encodes the parts it asked for; `pipeline.checkpoint` can stop it between steps. */
export async function executeJob(
  jobId: string,
  capture: Capture,
  frames: FrameReader,
  options: FuseOptions,
  prior?: Prior,
  pipeline: Partial<PipelineOptions> = {},
): Promise<JobOutputs> {
  const source: CaptureSource = {
    name: jobId,
    capture,
    readFrame: (i) => frames.readFrame(i),
    ...(frames.plan ? { plan: (order: readonly number[]) => frames.plan!(order) } : {}),
    ...(frames.release ? { release: (i: number) => frames.release!(i) } : {}),
    readGroundTruth: async () => undefined,
  };
  const out = await runPipeline(source, {
    ...pipeline,
    stage: options.stage,
    ...(prior ? { prior } : {}),
  });
  const { width: w, height: h } = out.depth;
  const want = new Set(options.outputs);
  const parts: JobOutputs["parts"] = {
    result: new TextEncoder().encode(JSON.stringify(out.result)),
  };
  if (want.has("depth")) {
    const le = new Uint8Array(w * h * 4);
    const view = new DataView(le.buffer);
    for (let i = 0; i < w * h; i++) view.setFloat32(4 * i, out.depth.data[i]!, true);
    parts.depth = le;
  }
  if (want.has("confidence")) parts.confidence = floatToBytes(out.confidence.data);
  if (want.has("depth_png"))
    parts.depth_png = encodePng16(metresToMillimetres(out.depth.data), w, h);
  pipeline.checkpoint?.();
  if (want.has("preview")) {
    parts.preview = await renderPreview(
      out.reference,
      out.depth,
      out.result.stage === "dff" ? { confidence: out.confidence } : {},
    );
  }
  pipeline.checkpoint?.();
  if (want.has("aif")) parts.aif = await encodeRgb(out.allInFocus, "png");
  return { result: out.result, parts };
}
