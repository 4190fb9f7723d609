import exifr from "exifr";
import type { Camera } from "#shared/capture/schema.ts";
import { type LensOptics, lensOptics } from "#shared/optics/thinLens.ts";

/** The 35 mm film frame's diagonal (mm): what `FocalLengthIn35mmFormat` is relative to. */
const FULL_FRAME_DIAGONAL_MM = Math.hypot(36, 24);

/**
 * The lens optics a JPEG's EXIF gives: f-number, focal length and, from the 35 mm equivalent
 * focal length, the sensor's width along an image `width` × `height` (the crop factor is a
 * ratio of diagonals, so orientation does not matter). Fields EXIF lacks are left out;
 * unreadable metadata gives `{}`.
 */
export async function exifOptics(
  bytes: Uint8Array,
  width: number,
  height: number,
): Promise<Camera> {
  const tags: Record<string, unknown> | undefined = await exifr
    .parse(bytes, { pick: ["FNumber", "FocalLength", "FocalLengthIn35mmFormat"] })
    .catch(() => undefined);
  const num = (k: string) => {
    const v = tags?.[k];
    return typeof v === "number" && v > 0 && Number.isFinite(v) ? v : undefined;
  };
  const fNumber = num("FNumber");
  const focalLengthMm = num("FocalLength");
  const equivalent = num("FocalLengthIn35mmFormat");
  const sensorWidthMm =
    focalLengthMm && equivalent
      ? ((FULL_FRAME_DIAGONAL_MM * focalLengthMm) / equivalent) *
        (width / Math.hypot(width, height))
      : undefined;
  return {
    ...(fNumber ? { fNumber } : {}),
    ...(focalLengthMm ? { focalLengthMm } : {}),
    ...(sensorWidthMm ? { sensorWidthMm } : {}),
  };
}

/**
 * The capture's optics for the lens model: `capture.camera` when complete, else completed from
 * the reference frame's EXIF (the capture's own fields win); none when still incomplete.
 */
export async function captureOptics(
  camera: Camera | undefined,
  readReference: () => Promise<Uint8Array>,
  width: number,
  height: number,
): Promise<{ optics: LensOptics; source: "capture" | "exif" } | undefined> {
  const given = lensOptics(camera, width);
  if (given) return { optics: given, source: "capture" };
  const merged = { ...(await exifOptics(await readReference(), width, height)), ...camera };
  const fromExif = lensOptics(merged, width);
  return fromExif ? { optics: fromExif, source: "exif" } : undefined;
}
