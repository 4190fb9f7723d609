/**
 * Focus sweep planning: which focus distances a camera should visit for one capture. Pure and
 * runtime-neutral, so the browser capture page and native apps (React Native) plan alike.
 * Distances are metres (W3C Image Capture `focusDistance`); the plan works in diopters
 * (1/m), where defocus blur is linear in the distance and uniform steps sample it evenly.
 */

/** `track.getCapabilities().focusDistance`: closest focus `min`, hyperfocal `max`, metres. */
export interface FocusCapability {
  min: number;
  max: number;
  /** Granularity of settable values (0 or absent: continuous). */
  step?: number;
}

/** The optics, when known: the depth of field then sets the frame spacing. */
export interface SweepOptics {
  focalLengthMm: number;
  fNumber: number;
  sensorWidthMm: number;
  /** Width of the frames the pipeline works on (the blur budget is a few of these pixels). */
  imageWidthPx: number;
}

export interface PlanOptions {
  capability: FocusCapability;
  /** The part of the range worth frames (user-picked or from a preview sweep), metres. */
  working?: { near: number; far: number };
  optics?: SweepOptics;
  /** Bounds on the frame count (defaults 5 and 16). */
  minFrames?: number;
  maxFrames?: number;
}

export interface FocusSweepPlan {
  /** Distinct, clamped, near to far (diopters strictly decreasing). */
  distances: number[];
  /** Diopter spacing the frame count came from. */
  spacingDiopters: number;
}

/**
 * Spacing without optics: 0.25 D. Sixteen frames over a 0.25–4 m phone range (3.75 D) gave
 * AbsRel 0.085 on our pipeline where six gave 0.36; ~0.1–0.25 D between frames is the regime
 * that works.
 */
export const DEFAULT_SPACING_DIOPTERS = 0.25;
export const DEFAULT_MIN_FRAMES = 5;
export const DEFAULT_MAX_FRAMES = 16;
/** Circle of confusion the depth of field is counted with, in work pixels. */
export const DOF_BLUR_PX = 2;

/**
 * A requested distance made settable: inside [min, max] (an out-of-range value, even by one
 * ulp, makes `applyConstraints` reject) and on the `step` grid from `min`.
 */
export function clampFocusDistance(distance: number, cap: FocusCapability): number {
  if (!(cap.max >= cap.min)) throw new RangeError(`focus range ${cap.min}–${cap.max} is empty`);
  let d = Math.min(cap.max, Math.max(cap.min, distance));
  if (cap.step && cap.step > 0) d = cap.min + Math.round((d - cap.min) / cap.step) * cap.step;
  // The grid arithmetic may land a hair outside again: clamp last.
  return Math.min(cap.max, Math.max(cap.min, d));
}

/**
 * Total depth of field in diopters of a lens focused far: 2·c·N/f² (thin lens, c the blur
 * budget on the sensor), the same at any focus distance when counted in diopters.
 */
export function depthOfFieldDiopters(o: SweepOptics): number {
  const cM = ((DOF_BLUR_PX * o.sensorWidthMm) / o.imageWidthPx) * 1e-3;
  const fM = o.focalLengthMm * 1e-3;
  return (2 * cM * o.fNumber) / (fM * fM);
}

/**
 * Plans a sweep: distances uniform in diopters between the working range's ends (default the
 * camera's whole range), one frame per spacing (the depth of field when the optics are known,
 * else `DEFAULT_SPACING_DIOPTERS`) within [minFrames, maxFrames], clamped to the capability,
 * distinct after clamping, near to far.
 */
export function planFocusSweep(opts: PlanOptions): FocusSweepPlan {
  const cap = opts.capability;
  if (!(cap.min > 0) || !(cap.max > cap.min) || !Number.isFinite(cap.max))
    throw new RangeError(`focus range ${cap.min}–${cap.max} m is not a usable metric range`);
  const minFrames = opts.minFrames ?? DEFAULT_MIN_FRAMES;
  const maxFrames = opts.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (!(minFrames >= 2) || !(maxFrames >= minFrames))
    throw new RangeError(`frame bounds ${minFrames}–${maxFrames} are not valid (at least 2)`);
  const near = clampFocusDistance(opts.working?.near ?? cap.min, cap);
  const far = clampFocusDistance(opts.working?.far ?? cap.max, cap);
  if (!(far > near)) throw new RangeError(`working range ${near}–${far} m is empty`);
  const nearD = 1 / near;
  const farD = 1 / far;
  const spacing = opts.optics ? depthOfFieldDiopters(opts.optics) : DEFAULT_SPACING_DIOPTERS;
  const wanted = Math.round((nearD - farD) / spacing) + 1;
  const frames = Math.min(maxFrames, Math.max(minFrames, wanted));
  const distances: number[] = [];
  for (let k = 0; k < frames; k++) {
    const d = clampFocusDistance(1 / (nearD + ((farD - nearD) * k) / (frames - 1)), cap);
    if (distances.length === 0 || d > distances[distances.length - 1]!) distances.push(d);
  }
  return { distances, spacingDiopters: spacing };
}

/**
 * Why a reported focus range cannot be trusted as metres, or `undefined` when it can: a phone
 * lens focuses closer than 1 m and its hyperfocal distance is finite. Chrome's fake camera
 * (10–100), a USB webcam's own units (e.g. 0–255) and a fixed-focus lens (min 0) fail this.
 */
export function focusRangeProblem(cap: FocusCapability): string | undefined {
  if (!(cap.max > cap.min)) return `its focus cannot move (range ${cap.min}–${cap.max})`;
  if (!(cap.min > 0 && cap.min < 1 && cap.max <= 1000))
    return `its focus range ${cap.min}–${cap.max} is not a plausible range in metres (an uncalibrated or non-phone lens)`;
  return undefined;
}
