import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCapture } from "#shared/capture/parse.ts";
import type { Capture } from "#shared/capture/schema.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { linearToSrgb, mapInPlace, srgbToLinear } from "#shared/image/srgb.ts";
import { gaussianSource, mulberry32 } from "#shared/math/stats.ts";
import type { ThinLens } from "#shared/optics/thinLens.ts";
import { fillDepthHoles, focusSweep, renderDefocus } from "#shared/synth/defocusRenderer.ts";
import { CAPTURE_FILE, GROUND_TRUTH_FILE } from "../capture/loadCaptureDir.ts";
import { decodeGray16, decodeRgb } from "../io/decodeImage.ts";
import { encodePng16, encodeRgb, metresToMillimetres } from "../io/encodeImage.ts";

export interface SynthOptions {
  frames: number;
  /** Metres per unit of the depth PNG (0.001 for millimetres). */
  depthScale: number;
  lens: ThinLens;
  /** Focus distances (m); default: evenly spaced in diopters over the scene. */
  focusM?: number[];
  /** Standard deviation of the added sensor noise, in [0, 1] intensity units. */
  noise: number;
  jpegQuality: number;
  seed: number;
  /** The renderer's point spread function (see `renderDefocus`). */
  psf?: "gaussian" | "disc";
  /** Render at this many times the size and average back down (`renderDefocus`). */
  supersample?: number;
}

/**
 * The supersampling at which the eval and the accuracy tests synthesize stacks, so that their
 * frames show a lens's blur under a pixel (`renderDefocus`); 3× moved one scene's `full` AbsRel
 * by 5% more, so 2× is near converged.
 */
export const SENSOR_SUPERSAMPLE = 2;

export const PHONE_LENS: ThinLens = { focalLengthMm: 9, fNumber: 1.8, sensorWidthMm: 8 };
export const LARGE_APERTURE_LENS: ThinLens = { focalLengthMm: 25, fNumber: 2, sensorWidthMm: 12 };

export const DEFAULT_SYNTH: Omit<SynthOptions, "lens"> = {
  frames: 5,
  depthScale: 0.001,
  noise: 0.004,
  jpegQuality: 92,
  seed: 1,
};

/**
 * Synthesizes a focal stack from an RGB-D pair with a thin-lens camera (layered, occlusion-aware
 * defocus in linear light), adds sensor noise and JPEG compression, and writes a capture
 * bundle with `gt_depth.png` into `outDir`.
 */
export async function synthesizeCapture(
  rgbBytes: Uint8Array,
  depthBytes: Uint8Array,
  outDir: string,
  options: Partial<SynthOptions> & { lens: ThinLens },
): Promise<Capture> {
  const o: SynthOptions = { ...DEFAULT_SYNTH, ...options };
  const rgb = await decodeRgb(rgbBytes, "rgb image");
  const raw = await decodeGray16(depthBytes, "depth image");
  if (raw.width !== rgb.width || raw.height !== rgb.height) {
    throw new HybridDepthError(
      "FRAME_SIZE_MISMATCH",
      `depth is ${raw.width}×${raw.height} but the rgb image is ${rgb.width}×${rgb.height}`,
    );
  }
  const gt = Float32Array.from(raw.data, (v) => v * o.depthScale);
  const depth = fillDepthHoles({ width: raw.width, height: raw.height, data: gt });
  const focusM = o.focusM ?? focusSweep(depth, o.frames);
  const linear = { ...rgb, data: mapInPlace(Float32Array.from(rgb.data), srgbToLinear) };
  const normal = gaussianSource(mulberry32(o.seed));

  await mkdir(outDir, { recursive: true });
  const frames: Capture["frames"] = [];
  for (const [k, f] of focusM.entries()) {
    const frame = renderDefocus(linear, depth, o.lens, f, {
      ...(o.psf ? { psf: o.psf } : {}),
      ...(o.supersample ? { supersample: o.supersample } : {}),
    });
    mapInPlace(frame.data, linearToSrgb);
    for (let i = 0; i < frame.data.length; i++) frame.data[i]! += o.noise * normal();
    const file = `f${String(k).padStart(2, "0")}.jpg`;
    await writeFile(join(outDir, file), await encodeRgb(frame, "jpeg", o.jpegQuality));
    frames.push({ file, focusDistance: Math.round(f * 1e4) / 1e4 });
  }
  const capture = parseCapture({ version: 1, focusUnit: "m", frames, camera: o.lens });
  await writeFile(join(outDir, CAPTURE_FILE), `${JSON.stringify(capture, null, 2)}\n`);
  await writeFile(
    join(outDir, GROUND_TRUTH_FILE),
    encodePng16(metresToMillimetres(gt), raw.width, raw.height),
  );
  return capture;
}
