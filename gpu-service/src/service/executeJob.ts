import { endianness } from "node:os";
import type { Capture } from "#shared/capture/schema.ts";
import { floatToBytes } from "#shared/image/types.ts";
import type { PipelineResult } from "#shared/pipeline/result.ts";
import type { FuseOptions, OutputName } from "#shared/service/fuseJob.ts";
import type { CaptureSource } from "../capture/captureSource.ts";
import { encodePng16, encodeRgb, metresToMillimetres } from "../io/encodeImage.ts";
import { alongside } from "../output/alongside.ts";
import { renderRunPreview } from "../output/preview.ts";
import { type PipelineOptions, type PipelineOutput, runPipeline } from "../pipeline/runPipeline.ts";
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
  // Only what the parts are made of: the other stages' depths and the prior (3 planes, 37.5 MB at
  // 12 MP) are not kept through the encoding.
  const { depth, confidence, reference, allInFocus, result } = await runPipeline(source, {
    ...pipeline,
    stage: options.stage,
    ...(prior ? { prior } : {}),
  });
  const parts = await encodeParts(
    { depth, confidence, reference, allInFocus, result },
    options.outputs,
    pipeline.checkpoint,
  );
  return { result, parts };
}

/** What a job's parts are encoded from. */
export type PartSources = Pick<
  PipelineOutput,
  "depth" | "confidence" | "reference" | "allInFocus" | "result"
>;

/**
 * The parts asked for. The images are compressed on sharp's threads while this one converts the
 * rest: at 12 MP the preview's PNG alone takes ≈ 400 ms. `checkpoint` can stop it between steps.
 */
export async function encodeParts(
  out: PartSources,
  outputs: readonly OutputName[],
  checkpoint?: () => void,
): Promise<JobOutputs["parts"]> {
  const { depth, confidence, result } = out;
  const want = new Set(outputs);
  const images = {
    ...(want.has("preview") ? { preview: renderRunPreview(out) } : {}),
    ...(want.has("aif") ? { aif: encodeRgb(out.allInFocus, "png") } : {}),
  };
  return alongside(images, async () => {
    const parts: JobOutputs["parts"] = {
      result: new TextEncoder().encode(JSON.stringify(result)),
    };
    if (want.has("depth")) parts.depth = float32LittleEndian(depth.data);
    if (want.has("confidence")) parts.confidence = floatToBytes(confidence.data);
    checkpoint?.();
    if (want.has("depth_png"))
      parts.depth_png = encodePng16(metresToMillimetres(depth.data), depth.width, depth.height);
    checkpoint?.();
    for (const [name, image] of Object.entries(images)) parts[name as OutputName] = await image;
    return parts;
  });
}

/** The `depth` part: float32 little-endian, a byte copy on little-endian hosts (all we ship to). */
export function float32LittleEndian(
  data: Float32Array,
  littleEndian = endianness() === "LE",
): Uint8Array {
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const le = new Uint8Array(data.length * 4);
  const view = new DataView(le.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  return le;
}
