/**
 * The preview page: pick a focal stack from files (capture.json or image_<n>_<metres>.jpg names),
 * upload it through the SDK (signed PUTs), finalize, wait and inspect the depth under the cursor.
 * The page mirrors its progress in `<body data-state>` (tests and people read it).
 */
import {
  CaptureFailedError,
  type CaptureHandle,
  type CaptureMetadata,
  type CaptureStatus,
  HybridDepthApiError,
  HybridDepthClient,
} from "../../../../shared/src/client/index.ts";
import { mapLimit } from "../../../../shared/src/client/pool.ts";
import { turbo } from "../../../../shared/src/image/colormap.ts";
import { depthSpan, isValidDepth, spanPosition } from "../../../../shared/src/image/depthSpan.ts";
import { rememberApiKey } from "../../browser/apiKey.ts";
import type { PreviewId } from "../ids.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: PreviewId) => document.getElementById(id) as T;

const IMAGE = /\.(jpe?g|png)$/i;
// HybridDepth's dataset naming, image_<n>_<focus distance in metres>.jpg: a fallback only.
const CONVENTION = /^image_(\d+)_(\d+(?:\.\d+)?)\.(?:jpe?g|png)$/i;
const UPLOAD_CONCURRENCY = 4;

type FrameMeta = CaptureMetadata["frames"][number];
interface Row {
  file: File;
  contentType: FrameMeta["contentType"];
  focus: HTMLInputElement;
  status: HTMLTableCellElement;
}
interface Picked {
  name: string;
  file: File | undefined;
  focus: number | "";
  n?: number;
}
interface HybridDepthView {
  captureId: string;
  width: number;
  height: number;
  depthAt(x: number, y: number): number;
  result: unknown;
}
const view = globalThis as unknown as { hybridDepth?: HybridDepthView };

let rows: Row[] = [];
/** capture.json without its frames (reference, camera, depthRange survive); the API checks it. */
let bundle: Partial<CaptureMetadata> = {};
let previewUrl: string | undefined;

const apiKey = $<HTMLInputElement>("apiKey");
rememberApiKey(apiKey);

function setState(state: string, detail?: string): void {
  document.body.dataset.state = state;
  $("status").textContent = detail ? `${state} · ${detail}` : state;
}

function showError(code?: string, message?: string): void {
  $("error").textContent = code ? `${code}: ${message}` : "";
  $("error").hidden = !code;
}

const contentTypeOf = (file: File) => (/\.png$/i.test(file.name) ? "image/png" : "image/jpeg");

/** Focus distances: capture.json if picked, else the file-name convention, else typed in. */
async function pick(list: FileList | null): Promise<void> {
  showError();
  const files = Array.from(list ?? []);
  const images = files.filter((f) => IMAGE.test(f.name) && f.name !== "gt_depth.png");
  const manifest = files.find((f) => f.name === "capture.json");
  let frames: Picked[];
  bundle = {};
  if (manifest) {
    try {
      const { frames: listed, ...rest } = JSON.parse(await manifest.text()) as {
        frames?: { file: string; focusDistance: number }[];
      } & Partial<CaptureMetadata>;
      bundle = rest;
      frames = (listed ?? []).map((f) => ({
        name: f.file,
        focus: f.focusDistance,
        file: images.find((i) => i.name === f.file),
      }));
    } catch (e) {
      renderTable([]);
      return showError("invalid_capture", `capture.json: ${(e as Error).message}`);
    }
    const missing = frames.filter((f) => !f.file).map((f) => f.name);
    if (missing.length) {
      renderTable([]);
      return showError(
        "frame_missing",
        `capture.json lists files that were not picked: ${missing.join(", ")}`,
      );
    }
  } else {
    frames = images.map((file) => {
      const m = CONVENTION.exec(file.name);
      return {
        name: file.name,
        file,
        n: m ? Number(m[1]) : Infinity,
        focus: m ? Number(m[2]) : "",
      };
    });
    frames.sort(
      (a, b) => a.n! - b.n! || a.name.localeCompare(b.name, undefined, { numeric: true }),
    );
  }
  $<HTMLSelectElement>("unit").value = bundle.focusUnit === "diopter" ? "diopter" : "m";
  renderTable(frames);
}

function renderTable(frames: Picked[]): void {
  const body = $<HTMLTableElement>("frames").tBodies[0]!;
  body.replaceChildren();
  rows = frames.map((f) => {
    const file = f.file!;
    const tr = body.insertRow();
    tr.insertCell().textContent = f.name;
    tr.insertCell().textContent = `${Math.ceil(file.size / 1024)} KiB`;
    const focus = document.createElement("input");
    Object.assign(focus, { type: "number", step: "any", min: "0", value: String(f.focus) });
    focus.setAttribute("aria-label", `focus distance of ${f.name}`);
    tr.insertCell().append(focus);
    const status = tr.insertCell();
    status.textContent = "ready";
    return { file, contentType: contentTypeOf(file), focus, status };
  });
  $<HTMLButtonElement>("upload").disabled = rows.length === 0;
}

/** Each frame through its signed URL (which carries its own credentials), 4 at a time. */
async function uploadFrames(capture: CaptureHandle): Promise<void> {
  let done = 0;
  await mapLimit(rows, UPLOAD_CONCURRENCY, async (row, index, signal) => {
    row.status.textContent = "uploading…";
    try {
      const frame = await capture.uploadFrame(index, row.file, { via: "put", signal });
      row.status.textContent = `uploaded · sha256 ${frame.sha256?.slice(0, 12)}…`;
    } catch (e) {
      row.status.textContent = "failed";
      throw e;
    }
    setState("uploading", `${++done}/${rows.length} frames`);
  });
}

function progress(id: string, c: CaptureStatus): void {
  if (c.state === "done" || c.state === "failed") return;
  // While the queue retries (e.g. the GPU service is busy), error says why: worth seeing.
  const attempts = (c.attempts ?? 0) > 1 ? ` · attempt ${c.attempts}` : "";
  const note = c.error ? ` · ${c.error.message}` : "";
  setState(
    c.state,
    `${id} · ${c.progress.framesUploaded}/${c.progress.framesTotal} frames${attempts}${note}`,
  );
}

function drawDepth(depth: Float32Array, width: number, height: number): void {
  const canvas = $<HTMLCanvasElement>("depth");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d")!;
  const image = ctx.createImageData(width, height);
  const px = image.data;
  const span = depthSpan(depth);
  if (span)
    depth.forEach((d, i) => {
      if (!isValidDepth(d)) return; // no depth stays transparent
      const [r, g, b] = turbo(spanPosition(d, span)); // near = warm (turbo's red end)
      px.set([r, g, b, 255], i * 4);
    });
  ctx.putImageData(image, 0, 0);
  $("legend").textContent = span
    ? `red ${span[0].toFixed(2)} m (near) … blue ${span[1].toFixed(2)} m (far), 2nd–98th percentile`
    : "no valid depth";
}

/** "done" is only announced once the depth is drawn, so data-state=done means ready to inspect. */
async function showResult(capture: CaptureHandle, status: CaptureStatus): Promise<void> {
  const [depth, png] = await Promise.all([capture.getDepth("f32"), capture.getDepth("preview")]);
  const { width, height, data, result } = depth;
  drawDepth(data, width, height);
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(new Blob([png as BlobPart], { type: "image/png" }));
  $<HTMLImageElement>("preview").src = previewUrl;
  const depthAt = (x: number, y: number) => {
    const [xi, yi] = [Math.floor(x), Math.floor(y)];
    return xi >= 0 && yi >= 0 && xi < width && yi < height ? data[yi * width + xi]! : Number.NaN;
  };
  view.hybridDepth = { captureId: capture.id, width, height, depthAt, result };
  const coverage = ` · coverage ${Math.round(result.coverage * 100)}%`;
  const total = status.timingsMs?.total ?? result.timingsMs.total;
  $("summary").textContent =
    `stage ${result.stage} · ${width}×${height}${coverage}` +
    `${status.cacheHit ? " · cache hit" : ""}${total ? ` · ${Math.round(total)} ms` : ""}`;
  $("result").hidden = false;
  setState("done", capture.id);
}

// The cursor's position on the scaled canvas, in depth-map pixels.
$("depth").addEventListener("pointermove", (e) => {
  const hd = view.hybridDepth;
  if (!hd) return;
  const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
  const x = Math.min(hd.width - 1, Math.floor(((e.clientX - r.left) / r.width) * hd.width));
  const y = Math.min(hd.height - 1, Math.floor(((e.clientY - r.top) / r.height) * hd.height));
  const d = hd.depthAt(x, y);
  $("readout").textContent = `${x}, ${y}: ${isValidDepth(d) ? `${d.toFixed(3)} m` : "no depth"}`;
});
$("depth").addEventListener("pointerleave", () => {
  $("readout").textContent = "–";
});

async function run(): Promise<void> {
  showError();
  const button = $<HTMLButtonElement>("upload");
  button.disabled = true;
  $("result").hidden = true;
  view.hybridDepth = undefined;
  for (const r of rows) r.status.textContent = "waiting";
  try {
    const client = new HybridDepthClient({ baseUrl: location.origin, apiKey: apiKey.value.trim() });
    const frames: FrameMeta[] = rows.map((r) => ({
      file: r.file.name,
      // An empty field goes as NaN, which JSON sends as null: the API names the frame and why.
      focusDistance: r.focus.value === "" ? Number.NaN : Number(r.focus.value),
      bytes: r.file.size,
      contentType: r.contentType,
    }));
    const meta: CaptureMetadata = {
      ...bundle,
      version: 1,
      focusUnit: $<HTMLSelectElement>("unit").value as "m" | "diopter",
      frames,
      options: { stage: $<HTMLSelectElement>("stage").value as "full" | "aligned" | "dff" },
    };
    setState("creating");
    const capture = await client.createCapture(meta);
    setState("uploading", capture.id);
    await uploadFrames(capture);
    await capture.finalize();
    const status = await capture.waitForDepth({ onProgress: (s) => progress(capture.id, s) });
    await showResult(capture, status);
  } catch (e) {
    // The API's error (or the capture's failure) as code: message; anything else is the network.
    if (e instanceof CaptureFailedError) setState("failed", e.captureId);
    else setState("error");
    if (e instanceof HybridDepthApiError || e instanceof CaptureFailedError)
      showError(e.code, e.message);
    else showError("network", (e as Error).message);
  } finally {
    button.disabled = rows.length === 0;
  }
}

$<HTMLInputElement>("files").addEventListener("change", (e) => {
  void pick((e.target as HTMLInputElement).files);
});
$<HTMLInputElement>("folder").addEventListener("change", (e) => {
  void pick((e.target as HTMLInputElement).files);
});
$("upload").addEventListener("click", () => void run());
