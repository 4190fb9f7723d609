import type { z } from "zod";
import type { CameraSchema } from "../capture/schema.ts";

export type ThinLens = Required<z.infer<typeof CameraSchema>>;

/** A lens and the width (px) of the images it is used on, whose width spans the sensor's. */
export interface LensOptics {
  lens: ThinLens;
  imageWidthPx: number;
}

/** The capture's optics when its camera gives all three of f-number, focal length and sensor width. */
export function lensOptics(
  camera: z.infer<typeof CameraSchema> | undefined,
  imageWidthPx: number,
): LensOptics | undefined {
  const { fNumber, focalLengthMm, sensorWidthMm } = camera ?? {};
  if (fNumber === undefined || focalLengthMm === undefined || sensorWidthMm === undefined)
    return undefined;
  return { lens: { fNumber, focalLengthMm, sensorWidthMm }, imageWidthPx };
}

/**
 * Diameter (mm, on the sensor) of the circle of confusion of a point at `depthM` when the lens
 * is focused at `focusM`: c = A·f·|d − s| / (d·(s − f)), aperture A = f/N (thin lens).
 */
export function cocDiameterMm(depthM: number, focusM: number, lens: ThinLens): number {
  const f = lens.focalLengthMm;
  const A = f / lens.fNumber;
  const d = depthM * 1000;
  const s = focusM * 1000;
  return (A * f * Math.abs(d - s)) / (d * (s - f));
}

/** The same, in pixels of an image `imageWidthPx` wide covering the sensor width. */
export function cocDiameterPx(
  depthM: number,
  focusM: number,
  lens: ThinLens,
  imageWidthPx: number,
): number {
  return (cocDiameterMm(depthM, focusM, lens) / lens.sensorWidthMm) * imageWidthPx;
}

/**
 * Standard deviation (px) of the Gaussian with the same second moment as a uniform disc of
 * diameter c: a disc of radius R has per-axis variance R²/4, so sigma = c/4.
 */
export function psfSigmaPx(cocPx: number): number {
  return cocPx / 4;
}
