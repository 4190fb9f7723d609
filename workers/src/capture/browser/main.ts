/**
 * The capture page: open the rear camera, find where the scene is with a fast preview sweep,
 * sweep the lens through planned focus distances (waiting for the lens each time), downscale
 * the frames to the pipeline's working size, upload them through the SDK and show the depth.
 * The page mirrors its progress in `<body data-state>` (tests and people read it).
 */
import {
  CaptureFailedError,
  downscaleFrame,
  HybridDepthApiError,
  HybridDepthClient,
  NetworkError,
  occupiedRange,
  planFocusSweep,
  type SharpnessSample,
  tileSharpness,
} from "../../../../shared/src/client/index.ts";
import { MAX_WORK_PIXELS } from "../../../../shared/src/pipeline/workSize.ts";
import {
  browserProblem,
  CameraRefusal,
  describe,
  lockExposure,
  type OpenCamera,
  openCamera,
  Probe,
  photoWidth,
  requestFocus,
  settle,
  shoot,
} from "./camera.ts";
import { showDepth } from "./result.ts";

const KEY_STORE = "hybriddepth.apiKey";
/** Preview sweep: frames and the tile grid sharpness is measured on. */
const PREVIEW_FRAMES = 10;
/**
 * Least frames of the real sweep (the SDK's default). In the lens-simulator test, 8 frames over
 * the found 0.77–4 m gave AbsRel 0.41 where 5 gave 0.18: denser is not better with today's pipeline.
 */
const MIN_SWEEP_FRAMES = 5;
const TILES_X = 8;
const TILES_Y = 6;
/** Exposure/white balance settle before they are locked. */
const EXPOSURE_SETTLE_MS = 600;
/** Least wait per focus request: a lens that has not started moving looks settled. */
const LENS_MIN_WAIT_MS = 500;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const video = $<HTMLVideoElement>("viewfinder");
const keyInput = $<HTMLInputElement>("apiKey");
const button = $<HTMLButtonElement>("capture");
const frameList = $<HTMLOListElement>("frameList");

let camera: OpenCamera | undefined;

function setState(state: string, detail = ""): void {
  document.body.dataset.state = state;
  $("status").textContent = detail || state;
}

function showError(message: string | undefined, offerFiles = false): void {
  $("error").textContent = message ?? "";
  $("error").hidden = !message;
  $("fallback").hidden = !offerFiles;
}

try {
  keyInput.value = localStorage.getItem(KEY_STORE) ?? "";
} catch {
  // Private modes may refuse storage: the field still works for this visit.
}
keyInput.addEventListener("input", () => {
  try {
    localStorage.setItem(KEY_STORE, keyInput.value.trim());
  } catch {}
});

interface FrameRow {
  li: HTMLLIElement;
  set(text: string): void;
}
function frameRow(i: number, focus: number, via: string): FrameRow {
  const li = document.createElement("li");
  const label = `frame ${i + 1} · ${focus.toFixed(3)} m · ${via}`;
  li.textContent = `${label} · captured`;
  frameList.append(li);
  return { li, set: (text) => (li.textContent = `${label} · ${text}`) };
}

interface CapturedFrame {
  blob: Blob;
  focusDistance: number;
  requested: number;
  via: string;
  originalBytes: number;
  width: number;
  height: number;
  row: FrameRow;
}

/** Preview sweep (video frames): the part of the focus range the scene occupies. */
async function findRange(
  cam: OpenCamera,
  probe: Probe,
): Promise<{ near: number; far: number } | undefined> {
  const plan = planFocusSweep({
    capability: cam.focus,
    minFrames: PREVIEW_FRAMES,
    maxFrames: PREVIEW_FRAMES,
  });
  const samples: SharpnessSample[] = [];
  for (const [k, d] of plan.distances.entries()) {
    setState("ranging", `finding the scene: ${k + 1}/${plan.distances.length}`);
    const applied = await requestFocus(cam, d);
    await settle(probe, LENS_MIN_WAIT_MS);
    samples.push({
      distance: applied,
      tiles: tileSharpness(probe.luma(), probe.width, probe.height, TILES_X, TILES_Y),
    });
  }
  return occupiedRange(samples, cam.focus);
}

function userRange(): { near: number; far: number } | undefined {
  const near = Number($<HTMLInputElement>("near").value);
  const far = Number($<HTMLInputElement>("far").value);
  return near > 0 && far > near ? { near, far } : undefined;
}

async function sweep(cam: OpenCamera, probe: Probe, notes: string[]): Promise<CapturedFrame[]> {
  const working = userRange() ?? (await findRange(cam, probe));
  if (!working) notes.push("the preview sweep found too little texture: sweeping the whole range");
  const plan = planFocusSweep({
    capability: cam.focus,
    minFrames: MIN_SWEEP_FRAMES,
    ...(working ? { working } : {}),
  });
  const width = await photoWidth(cam, 4032);
  const shotState: { takePhotoFailed?: string } = {};
  const frames: CapturedFrame[] = [];
  frameList.replaceChildren();
  for (const [i, d] of plan.distances.entries()) {
    setState("sweeping", `frame ${i + 1}/${plan.distances.length} at ${d.toFixed(2)} m`);
    const applied = await requestFocus(cam, d);
    const waited = await settle(probe, LENS_MIN_WAIT_MS);
    if (!waited.settled)
      notes.push(
        `frame ${i + 1}: the lens did not settle within ${Math.round(waited.waitedMs)} ms`,
      );
    const shot = await shoot(cam, width, shotState, notes);
    const originalBytes = shot.blob instanceof Blob ? shot.blob.size : 0;
    const small = await downscaleFrame(shot.blob, MAX_WORK_PIXELS);
    frames.push({
      blob: small.blob,
      focusDistance: applied,
      requested: d,
      via: shot.via,
      originalBytes,
      width: small.width,
      height: small.height,
      row: frameRow(i, applied, shot.via),
    });
  }
  return frames;
}

function metadata(cam: OpenCamera, frames: CapturedFrame[], notes: string[]) {
  return {
    version: 1 as const,
    focusUnit: "m" as const,
    frames: frames.map((f, i) => ({
      file: `f${String(i).padStart(2, "0")}.jpg`,
      focusDistance: f.focusDistance,
      bytes: f.blob.size,
      contentType: "image/jpeg" as const,
    })),
    options: { stage: "full" as const },
    // What a server would want to know; the API keeps the fields it knows.
    device: {
      userAgent: navigator.userAgent,
      cameraLabel: cam.label,
      focusDistance: cam.focus,
      focusUnitsMayBeUncalibrated: true,
      orientation: screen.orientation?.type,
      via: frames.map((f) => f.via),
      notes,
    },
  };
}

async function run(): Promise<void> {
  showError(undefined);
  $("result").hidden = true;
  delete document.body.dataset.captureId;
  button.disabled = true;
  const notes: string[] = [];
  try {
    const problem = browserProblem();
    if (problem) throw new CameraRefusal(problem);
    const apiKey = keyInput.value.trim();
    if (!apiKey) throw new CameraRefusal("Enter an API key first.");
    setState("camera", "opening the camera");
    if (!camera) {
      camera = await openCamera();
      video.srcObject = camera.stream;
      await video.play();
    }
    const cam = camera;
    const probe = new Probe(video);
    setState("exposure", "letting exposure settle");
    const locked = await lockExposure(cam, EXPOSURE_SETTLE_MS);
    if (locked.length) notes.push(`locked: ${locked.join(", ")}`);
    const frames = await sweep(cam, probe, notes);
    const before = frames.reduce((s, f) => s + f.originalBytes, 0);
    const after = frames.reduce((s, f) => s + f.blob.size, 0);
    $("bytes").textContent =
      `${frames.length} frames · ${Math.round(after / 1024)} KiB uploaded${before ? ` (${Math.round(before / 1024)} KiB as taken)` : ""}`;
    const client = new HybridDepthClient({ baseUrl: location.origin, apiKey });
    setState("uploading", "creating the capture");
    const capture = await client.createCapture(metadata(cam, frames, notes));
    let uploaded = 0;
    await Promise.all(
      frames.map(async (f, i) => {
        f.row.set("uploading");
        await capture.uploadFrame(i, f.blob, { via: "tus" });
        f.row.set("uploaded");
        setState("uploading", `${++uploaded}/${frames.length} frames uploaded`);
      }),
    );
    await capture.finalize();
    await capture.waitForDepth({
      onProgress: (s) => setState("processing", `${s.state} · ${capture.id}`),
    });
    const reference = frames[Math.floor(frames.length / 2)]!;
    await showDepth(capture, reference.blob);
    $("notes").textContent = notes.join("; ");
    document.body.dataset.captureId = capture.id;
    setState("done", `depth ready · ${capture.id}`);
  } catch (e) {
    const offerFiles = e instanceof CameraRefusal;
    const message =
      e instanceof CameraRefusal
        ? e.message
        : e instanceof HybridDepthApiError || e instanceof CaptureFailedError
          ? `${e.code}: ${e.message}`
          : e instanceof NetworkError
            ? `The connection to the API failed (${e.message}).`
            : `Unexpected failure: ${describe(e)}`;
    showError(message, offerFiles);
    // The alert below says why; the status line only says that it stopped.
    setState("error", "stopped");
  } finally {
    button.disabled = false;
  }
}

const early = browserProblem();
if (early) {
  showError(early, true);
  setState("unsupported", "cannot capture here");
}
button.addEventListener("click", () => void run());
