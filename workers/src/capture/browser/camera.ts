/**
 * The phone camera through the standard APIs only (getUserMedia, MediaStreamTrack
 * capabilities/constraints/settings, ImageCapture): what it can do, focus requests clamped to
 * what it reports, waiting for the lens, and frames (takePhoto, else grabFrame).
 */
import {
  clampFocusDistance,
  type FocusCapability,
  focusRangeProblem,
  frameSharpness,
  lumaFromRgba,
  type SettleOutcome,
  waitForLensSettle,
} from "../../../../shared/src/client/index.ts";

/** Image Capture extensions Chrome implements (not in TypeScript's DOM lib). */
interface FocusCapabilities extends MediaTrackCapabilities {
  focusDistance?: { min: number; max: number; step?: number };
  focusMode?: string[];
  exposureMode?: string[];
  whiteBalanceMode?: string[];
  zoom?: { min: number; max: number; step?: number };
}
interface PhotoCapabilities {
  imageWidth?: { min: number; max: number; step?: number };
  imageHeight?: { min: number; max: number; step?: number };
}
interface ImageCaptureLike {
  takePhoto(settings?: { imageWidth?: number; imageHeight?: number }): Promise<Blob>;
  grabFrame(): Promise<ImageBitmap>;
  getPhotoCapabilities(): Promise<PhotoCapabilities>;
}
type ImageCaptureCtor = new (track: MediaStreamTrack) => ImageCaptureLike;

/** Why the camera cannot sweep: one sentence for the person holding the phone. */
export class CameraRefusal extends Error {
  override readonly name = "CameraRefusal";
}

export interface OpenCamera {
  stream: MediaStream;
  track: MediaStreamTrack;
  focus: FocusCapability;
  capabilities: FocusCapabilities;
  imageCapture: ImageCaptureLike;
  label: string;
}

const ImageCaptureApi = (globalThis as unknown as { ImageCapture?: ImageCaptureCtor }).ImageCapture;

/** Why this browser cannot sweep focus at all, before asking for the camera, or undefined. */
export function browserProblem(): string | undefined {
  if (!navigator.mediaDevices?.getUserMedia)
    return "This browser gives pages no camera access (it needs HTTPS and a current browser).";
  if (!ImageCaptureApi)
    return "This browser has no manual focus control (Image Capture API): Safari and Firefox lack it; use Chrome on Android.";
  return undefined;
}

/** The rear camera at up to 12 MP, checked for metric manual focus. */
export async function openCamera(): Promise<OpenCamera> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: {
        facingMode: { ideal: "environment" },
        width: { ideal: 4032 },
        height: { ideal: 3024 },
      },
      audio: false,
    });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === "NotAllowedError" || name === "SecurityError")
      throw new CameraRefusal(
        "Camera access was refused: allow the camera for this site to capture.",
      );
    if (name === "NotFoundError" || name === "OverconstrainedError")
      throw new CameraRefusal("No camera was found on this device.");
    throw new CameraRefusal(`The camera could not be opened (${name ?? String(e)}).`);
  }
  const track = stream.getVideoTracks()[0]!;
  const stop = () => {
    for (const t of stream.getTracks()) t.stop();
  };
  const capabilities = track.getCapabilities() as FocusCapabilities;
  const fd = capabilities.focusDistance;
  if (!fd || !capabilities.focusMode?.includes("manual")) {
    stop();
    throw new CameraRefusal(
      `This camera (${track.label || "unnamed"}) offers no manual focus: fixed-focus, LEGACY-level and desktop cameras cannot sweep.`,
    );
  }
  const focus: FocusCapability = {
    min: fd.min,
    max: fd.max,
    ...(fd.step ? { step: fd.step } : {}),
  };
  const problem = focusRangeProblem(focus);
  if (problem) {
    stop();
    throw new CameraRefusal(`This camera cannot be used for depth: ${problem}.`);
  }
  return {
    stream,
    track,
    focus,
    capabilities,
    imageCapture: new ImageCaptureApi!(track),
    label: track.label,
  };
}

/** Exposure and white balance settled, then locked where the camera allows; zoom 1. */
export async function lockExposure(cam: OpenCamera, settleMs: number): Promise<string[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  const locked: string[] = [];
  const c = cam.capabilities;
  const tries: [string, MediaTrackConstraintSet][] = [];
  if (c.exposureMode?.includes("manual"))
    tries.push(["exposure", { exposureMode: "manual" } as MediaTrackConstraintSet]);
  if (c.whiteBalanceMode?.includes("manual"))
    tries.push(["white balance", { whiteBalanceMode: "manual" } as MediaTrackConstraintSet]);
  if (c.zoom && c.zoom.min <= 1 && c.zoom.max >= 1)
    tries.push(["zoom 1", { zoom: 1 } as MediaTrackConstraintSet]);
  for (const [what, set] of tries) {
    try {
      await cam.track.applyConstraints(set);
      locked.push(what);
    } catch {
      // Not every camera honours every lock: the sweep still works, slightly less stable.
    }
  }
  return locked;
}

/** Asks for `distance` (clamped first) and answers what the camera reports it applied. */
export async function requestFocus(cam: OpenCamera, distance: number): Promise<number> {
  const d = clampFocusDistance(distance, cam.focus);
  try {
    await cam.track.applyConstraints({
      focusMode: "manual",
      focusDistance: d,
    } as MediaTrackConstraintSet);
  } catch (e) {
    throw new CameraRefusal(
      `The camera refused focus distance ${d.toFixed(3)} m (${describe(e)}).`,
    );
  }
  const reported = (cam.track.getSettings() as { focusDistance?: number }).focusDistance;
  return typeof reported === "number" && reported > 0 ? reported : d;
}

/** Small grey frames of the viewfinder for sharpness: cheap on a phone. */
export class Probe {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly video: HTMLVideoElement,
    readonly width = 160,
    readonly height = 120,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.width = width;
    this.canvas.height = height;
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true })!;
  }

  luma(source: CanvasImageSource = this.video): Float32Array {
    this.ctx.drawImage(source, 0, 0, this.width, this.height);
    return lumaFromRgba(
      this.ctx.getImageData(0, 0, this.width, this.height).data,
      this.width,
      this.height,
    );
  }

  sharpness(): number {
    return frameSharpness(this.luma(), this.width, this.height);
  }

  /** The next frame the video presents (requestVideoFrameCallback, else a 33 ms tick). */
  nextFrame(): Promise<void> {
    return new Promise((resolve) => {
      if ("requestVideoFrameCallback" in this.video)
        this.video.requestVideoFrameCallback(() => resolve());
      else setTimeout(resolve, 33);
    });
  }
}

/** Waits for the lens after a focus request (minimum time and frames, then stable sharpness). */
export function settle(probe: Probe, minWaitMs: number): Promise<SettleOutcome> {
  return waitForLensSettle({
    nextFrame: () => probe.nextFrame(),
    measure: () => probe.sharpness(),
    now: () => performance.now(),
    minWaitMs,
  });
}

/** The photo width to ask for: the largest the camera offers within `maxWidth`. */
export async function photoWidth(cam: OpenCamera, maxWidth: number): Promise<number | undefined> {
  try {
    const caps = await cam.imageCapture.getPhotoCapabilities();
    if (!caps.imageWidth) return undefined;
    return Math.max(caps.imageWidth.min, Math.min(caps.imageWidth.max, maxWidth));
  } catch {
    return undefined;
  }
}

export interface Shot {
  blob: Blob | ImageBitmap;
  via: "takePhoto" | "grabFrame";
}

/**
 * One frame at the current focus: takePhoto (full resolution, honours manual focus) at the
 * chosen width, then without settings if the camera refuses them, else grabFrame (video
 * resolution). `notes` collects why a fallback was taken.
 */
export async function shoot(
  cam: OpenCamera,
  width: number | undefined,
  state: { takePhotoFailed?: string },
  notes: string[],
): Promise<Shot> {
  if (!state.takePhotoFailed) {
    try {
      if (width) {
        try {
          return {
            blob: await cam.imageCapture.takePhoto({ imageWidth: width }),
            via: "takePhoto",
          };
        } catch (e) {
          notes.push(`takePhoto at ${width} px failed (${describe(e)}); trying the default size`);
        }
      }
      return { blob: await cam.imageCapture.takePhoto(), via: "takePhoto" };
    } catch (e) {
      state.takePhotoFailed = describe(e);
      notes.push(`takePhoto failed (${state.takePhotoFailed}); using video frames (grabFrame)`);
    }
  }
  try {
    return { blob: await cam.imageCapture.grabFrame(), via: "grabFrame" };
  } catch (e) {
    throw new CameraRefusal(
      `The camera gave no frame: takePhoto and grabFrame both failed (${describe(e)}).`,
    );
  }
}

export const describe = (e: unknown): string =>
  e instanceof Error ? `${e.name}: ${e.message}`.replace(/: $/, "") : String(e);
