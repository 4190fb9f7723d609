import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeNpyFloat32 } from "#shared/format/npy.ts";
import { CLI_FILES } from "#shared/service/outputs.ts";
import { encodeGray8Png, encodePng16, encodeRgb, metresToMillimetres } from "../io/encodeImage.ts";
import type { PipelineOutput } from "../pipeline/runPipeline.ts";
import { alongside } from "./alongside.ts";
import { renderRunPreview } from "./preview.ts";

/** The files `fuse` writes, by name (the outputs table's CLI files). */
export const OUTPUT_FILES = CLI_FILES;

/**
 * Writes every output of a pipeline run into `dir`: depth (uint16 mm PNG, 0 = invalid; float32
 * metres .npy), confidence (uint8), all-in-focus, preview and result.json.
 */
export interface OutputOptions {
  /** Also write prior.npy (the prior's relative inverse depth), when a prior ran. */
  prior?: boolean;
}

export async function writeOutputs(
  dir: string,
  out: PipelineOutput,
  options: OutputOptions = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const { width: w, height: h } = out.depth;
  // The images compress on sharp's threads while this one encodes the 16-bit PNG (fast-png, in
  // JavaScript: ≈ 400 ms at 12 MP) and the rest.
  const images = {
    "confidence.png": encodeGray8Png(out.confidence.data, w, h),
    "aif.png": encodeRgb(out.allInFocus, "png"),
    "preview.png": renderRunPreview(out),
  };
  return alongside(images, async () => {
    const files: Record<string, Uint8Array | string> = {
      "depth.png": encodePng16(metresToMillimetres(out.depth.data), w, h),
      "depth.npy": encodeNpyFloat32(out.depth.data, [h, w]),
    };
    for (const [name, image] of Object.entries(images)) files[name] = await image;
    files["result.json"] = `${JSON.stringify(out.result, null, 2)}\n`;
    if (options.prior && out.prior) files["prior.npy"] = encodeNpyFloat32(out.prior.data, [h, w]);
    await Promise.all(
      Object.entries(files).map(([name, data]) => writeFile(join(dir, name), data)),
    );
    return Object.keys(files).map((f) => join(dir, f));
  });
}
