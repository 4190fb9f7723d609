/**
 * The capture page: open the rear camera, find where the scene is with a fast preview sweep,
 * sweep the lens through planned focus distances (waiting for the lens each time), downscale
 * the frames to the pipeline's working size, upload them through the SDK and show the depth.
 * The page mirrors its progress in `<body data-state>` (tests and people read it).
 */

import { DEVICE_LIMITS } from "../../../../shared/src/capture/deviceLimits.ts";
import { newIdempotencyKey } from "../../../../shared/src/client/idempotencyKey.ts";
import {
  CaptureFailedError,
  type CaptureHandle,
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
import { rememberApiKey } from "../../browser/apiKey.ts";
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
import {
  clearPending,
  loadPending,
  type PendingCapture,
  savePending,
  updatePending,
} from "./pending.ts";
import { showDepth } from "./result.ts";

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

rememberApiKey(keyInput);

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
    });
    frameRow(i, applied, shot.via);
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
    // What a server would want to know when a result looks wrong (schema: DeviceSchema).
    device: {
      userAgent: navigator.userAgent,
      cameraLabel: cam.label,
      focusDistance: cam.focus,
      focusUnitsMayBeUncalibrated: true,
      orientation: screen.orientation?.type,
      via: frames.map((f) => f.via),
      // Within the schema's bounds, so a long sweep's notes never cost the capture.
      notes: notes.slice(0, DEVICE_LIMITS.list).map((n) => n.slice(0, DEVICE_LIMITS.note)),
    },
  };
}

/** What the page shows for a failure: one sentence, and the file upload path where it helps. */
function report(e: unknown): void {
  const offerFiles = e instanceof CameraRefusal;
  const message =
    e instanceof CameraRefusal
      ? e.message
      : e instanceof HybridDepthApiError || e instanceof CaptureFailedError
        ? `${e.code}: ${e.message}`
        : e instanceof NetworkError
          ? `The connection to the API failed (${e.message}): reload the page to resume the upload.`
          : `Unexpected failure: ${describe(e)}`;
  showError(message, offerFiles);
  // The alert says why; the status line only says that it stopped.
  setState("error", "stopped");
}

/** The server no longer has the capture (deleted, expired): its frames cannot go anywhere. */
const isGone = (e: unknown) =>
  e instanceof HybridDepthApiError && (e.status === 404 || e.status === 410);

/**
 * Uploads the stored capture's missing frames (tus, resuming each from the server's offset),
 * finalizes, waits and shows the depth, then forgets the capture. Used right after a sweep and
 * after a reload that found one unfinished.
 */
async function deliver(apiKey: string, pending: PendingCapture, notes: string[]): Promise<void> {
  const client = new HybridDepthClient({ baseUrl: location.origin, apiKey });
  const { frames } = pending;
  const rows = frames.map((f, i) => frameRow(i, f.focusDistance, f.via));
  let capture: CaptureHandle;
  let done = new Set(pending.uploaded);
  if (pending.id) {
    capture = client.capture(pending.id);
    setState("uploading", `resuming capture ${pending.id}`);
    const s = await capture.status();
    // The server's word wins: a frame it holds whole is not sent again.
    done = new Set([...done, ...s.frames.filter((f) => f.uploaded).map((f) => f.index)]);
    if (s.state !== "uploading") done = new Set(frames.keys());
  } else {
    setState("uploading", "creating the capture");
    capture = await client.createCapture(pending.meta, { idempotencyKey: pending.idempotencyKey });
    const id = capture.id;
    await updatePending((p) => (p.id = id));
  }
  document.body.dataset.captureId = capture.id;
  let uploaded = done.size;
  for (const i of done) rows[i]!.set("uploaded");
  setState("uploading", `${uploaded}/${frames.length} frames uploaded`);
  await Promise.all(
    frames.map(async (f, i) => {
      if (done.has(i)) return;
      const resumeUrl = pending.tusUrls[i];
      rows[i]!.set(resumeUrl ? "resuming" : "uploading");
      await capture.uploadFrame(i, f.blob, {
        via: "tus",
        ...(resumeUrl ? { resumeUrl } : {}),
        onUploadUrl: (url) => void updatePending((p) => (p.tusUrls[i] = url)),
      });
      await updatePending((p) => p.uploaded.push(i));
      rows[i]!.set("uploaded");
      setState("uploading", `${++uploaded}/${frames.length} frames uploaded`);
    }),
  );
  await capture.finalize();
  await capture
    .waitForDepth({ onProgress: (s) => setState("processing", `${s.state} · ${capture.id}`) })
    .catch(async (e) => {
      // A failed capture is finished too: keeping it would retry the same failure on each visit.
      if (e instanceof CaptureFailedError) await clearPending();
      throw e;
    });
  const reference = frames[Math.floor(frames.length / 2)]!;
  await showDepth(capture, reference.blob);
  // Only now may the frames go: the depth is on the server and on the screen.
  await clearPending();
  $("notes").textContent = notes.join("; ");
  setState("done", `depth ready · ${capture.id}`);
}

async function run(): Promise<void> {
  showError(undefined);
  $("result").hidden = true;
  delete document.body.dataset.captureId;
  button.disabled = true;
  const notes: string[] = [];
  try {
    const apiKey = keyInput.value.trim();
    const unfinished = await loadPending().catch(() => undefined);
    if (unfinished) {
      if (!apiKey) throw new CameraRefusal("Enter the API key to finish the upload.");
      return await resume(apiKey, unfinished);
    }
    const problem = browserProblem();
    if (problem) throw new CameraRefusal(problem);
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
    const pending: PendingCapture = {
      idempotencyKey: newIdempotencyKey(),
      meta: metadata(cam, frames, notes),
      frames: frames.map((f) => ({ blob: f.blob, focusDistance: f.focusDistance, via: f.via })),
      tusUrls: {},
      uploaded: [],
    };
    // Kept before anything goes up: from here a reload resumes rather than loses the sweep.
    await savePending(pending).catch(() => {
      notes.push("this browser refused to keep the frames: a reload now loses them");
    });
    $("bytes").textContent =
      `${frames.length} frames · ${Math.round(after / 1024)} KiB uploaded${before ? ` (${Math.round(before / 1024)} KiB as taken)` : ""}`;
    frameList.replaceChildren();
    await deliver(apiKey, pending, notes);
  } catch (e) {
    report(e);
  } finally {
    button.disabled = false;
  }
}

/** Finishes a capture a reload interrupted; a capture the server no longer has is forgotten. */
async function resume(apiKey: string, pending: PendingCapture): Promise<void> {
  frameList.replaceChildren();
  const bytes = pending.frames.reduce((s, f) => s + f.blob.size, 0);
  $("bytes").textContent =
    `${pending.frames.length} frames · ${Math.round(bytes / 1024)} KiB uploaded`;
  try {
    await deliver(apiKey, pending, [`resumed after a reload: capture ${pending.id ?? "(new)"}`]);
  } catch (e) {
    if (!isGone(e)) throw e;
    await clearPending();
    delete document.body.dataset.captureId;
    frameList.replaceChildren();
    $("bytes").textContent = "";
    throw new CameraRefusal(
      "The unfinished capture is no longer on the server (deleted or expired), so its frames were discarded: press Capture to take a new one.",
    );
  }
}

button.addEventListener("click", () => void run());
// Said at once, before IndexedDB answers: a browser that cannot capture is told so on arrival.
const early = browserProblem();
if (early) {
  showError(early, true);
  setState("unsupported", "cannot capture here");
}
// An unfinished capture from before a reload goes on at once when the key is known; it needs
// no camera, so it goes on even where capturing is impossible.
void loadPending()
  .catch(() => undefined)
  .then((unfinished) => {
    if (unfinished && keyInput.value.trim()) return void run();
    if (unfinished) {
      showError(
        "An unfinished capture is waiting: enter the API key and press Capture to finish its upload.",
        Boolean(early),
      );
    }
  });
