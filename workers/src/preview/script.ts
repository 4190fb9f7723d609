/**
 * The preview page's inline module script: plain browser JavaScript, served as is (no build
 * step). `String.raw` keeps its regular expressions' backslashes; the script itself uses no
 * template literals, so nothing here is interpolated on the worker side. The CSP allows exactly
 * this text by its sha256 (page.ts).
 */
export const PREVIEW_SCRIPT = String.raw`
// Upload a focal stack through the worker's public API (same origin) and inspect the depth.
const $ = (id) => document.getElementById(id);
const KEY_STORE = "hybriddepth.apiKey";
const IMAGE = /\.(jpe?g|png)$/i;
// HybridDepth's dataset naming, image_<n>_<focus distance in metres>.jpg: a fallback only.
const CONVENTION = /^image_(\d+)_(\d+(?:\.\d+)?)\.(?:jpe?g|png)$/i;
const UPLOAD_CONCURRENCY = 4;
const POLL_MS = 1000;

let rows = []; // one per frame: { file, contentType, focus: <input>, status: <td> }
let bundle = {}; // capture.json without its frames (reference, camera, depthRange survive)
let previewUrl = null;

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Safari's private mode may refuse storage; the key field still works for the session.
try {
  $("apiKey").value = localStorage.getItem(KEY_STORE) || "";
} catch {}
$("apiKey").addEventListener("input", () => {
  try {
    localStorage.setItem(KEY_STORE, $("apiKey").value.trim());
  } catch {}
});

function setState(state, detail) {
  document.body.dataset.state = state;
  $("status").textContent = detail ? state + " · " + detail : state;
}

function showError(code, message) {
  $("error").textContent = code ? code + ": " + message : "";
  $("error").hidden = !code;
}

// Every API answer that is not 2xx carries { error: { code, message } }.
async function apiError(res) {
  const body = await res.json().catch(() => null);
  const e = body && body.error;
  return new ApiError(e ? e.code : "http_" + res.status, e ? e.message : res.status + " " + res.statusText);
}

async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", "Bearer " + $("apiKey").value.trim());
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) throw await apiError(res);
  return res;
}

const contentTypeOf = (file) => (/\.png$/i.test(file.name) ? "image/png" : "image/jpeg");
const uuid = () =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
const validDepth = (d) => d > 0 && Number.isFinite(d);

// Focus distances: capture.json if picked, else the file-name convention, else typed in.
async function pick(list) {
  showError();
  const files = Array.from(list);
  const images = files.filter((f) => IMAGE.test(f.name) && f.name !== "gt_depth.png");
  const manifest = files.find((f) => f.name === "capture.json");
  let frames;
  bundle = {};
  if (manifest) {
    try {
      const { frames: listed, ...rest } = JSON.parse(await manifest.text());
      bundle = rest;
      frames = (listed || []).map((f) => ({ name: f.file, focus: f.focusDistance, file: images.find((i) => i.name === f.file) }));
    } catch (e) {
      renderTable([]);
      return showError("invalid_capture", "capture.json: " + e.message);
    }
    const missing = frames.filter((f) => !f.file).map((f) => f.name);
    if (missing.length) {
      renderTable([]);
      return showError("frame_missing", "capture.json lists files that were not picked: " + missing.join(", "));
    }
  } else {
    frames = images.map((file) => {
      const m = CONVENTION.exec(file.name);
      return { name: file.name, file, n: m ? Number(m[1]) : Infinity, focus: m ? Number(m[2]) : "" };
    });
    frames.sort((a, b) => a.n - b.n || a.name.localeCompare(b.name, undefined, { numeric: true }));
  }
  $("unit").value = bundle.focusUnit === "diopter" ? "diopter" : "m";
  renderTable(frames);
}

function renderTable(frames) {
  const body = $("frames").tBodies[0];
  body.replaceChildren();
  rows = frames.map((f) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = f.name;
    tr.insertCell().textContent = Math.ceil(f.file.size / 1024) + " KiB";
    const focus = document.createElement("input");
    Object.assign(focus, { type: "number", step: "any", min: "0", value: f.focus ?? "" });
    focus.setAttribute("aria-label", "focus distance of " + f.name);
    tr.insertCell().append(focus);
    const status = tr.insertCell();
    status.textContent = "ready";
    return { file: f.file, contentType: contentTypeOf(f.file), focus, status };
  });
  $("upload").disabled = rows.length === 0;
}

// Signed upload URLs carry their own credentials: no Authorization header. The browser sets
// Content-Length from the File itself (scripts may not).
async function uploadFrames(uploads) {
  let next = 0;
  let done = 0;
  let failed = false;
  async function lane() {
    while (next < uploads.length && !failed) {
      const u = uploads[next++];
      const row = rows[u.index];
      row.status.textContent = "uploading…";
      const res = await fetch(u.url, { method: u.method, body: row.file, headers: { "content-type": u.headers["content-type"] } });
      if (!res.ok) {
        failed = true;
        row.status.textContent = "failed";
        throw await apiError(res);
      }
      const frame = await res.json();
      row.status.textContent = "uploaded · sha256 " + frame.sha256.slice(0, 12) + "…";
      setState("uploading", ++done + "/" + uploads.length + " frames");
    }
  }
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, uploads.length) }, lane));
}

// "done" is only announced once the depth is drawn, so data-state=done means ready to inspect.
async function poll(id) {
  for (;;) {
    const c = await (await api("/v1/captures/" + id)).json();
    if (c.state === "done") return c;
    // While the queue retries (e.g. the GPU service is busy), error says why: worth seeing.
    const attempts = c.attempts > 1 ? " · attempt " + c.attempts : "";
    const note = c.error && c.state !== "failed" ? " · " + c.error.message : "";
    setState(c.state, id + " · " + c.progress.framesUploaded + "/" + c.progress.framesTotal + " frames" + attempts + note);
    if (c.state === "failed") throw new ApiError(c.error?.code || "failed", c.error?.message || "processing failed");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// Turbo colormap (polynomial fit by A. Mikhailov / R. Du) as a 256-entry lookup table.
const TURBO = [
  [0.13572138, 4.6153926, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
  [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
  [0.1066733, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
];
const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  TURBO.forEach((c, ch) => {
    LUT[i * 3 + ch] = 255 * c.reduceRight((acc, k) => acc * (i / 255) + k, 0);
  });
}

// Colours span the 2nd–98th percentile of the valid depth, spaced in inverse depth, like the
// server's preview.png: a handful of outliers (e.g. pixels clamped to the depth range's far end)
// must not squeeze the whole scene into one colour. Values beyond the span are clamped.
const NEAR_Q = 0.02;
const FAR_Q = 0.98;

function depthSpan(depth) {
  const step = Math.max(1, Math.floor(depth.length / 50000));
  const sample = [];
  for (let i = 0; i < depth.length; i += step) if (validDepth(depth[i])) sample.push(depth[i]);
  if (!sample.length) return null;
  const v = Float64Array.from(sample).sort();
  const q = (p) => v[Math.round(p * (v.length - 1))];
  const near = q(NEAR_Q);
  const far = q(FAR_Q);
  return far > near * 1.01 ? [near, far] : [near * 0.9, near * 1.1];
}

function drawDepth(depth, width, height) {
  const canvas = $("depth");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  const px = image.data;
  const span = depthSpan(depth);
  if (span) {
    const a = 1 / span[1];
    const b = 1 / span[0];
    depth.forEach((d, i) => {
      if (!validDepth(d)) return; // no depth stays transparent
      const t = Math.min(1, Math.max(0, (1 / d - a) / (b - a))); // near = 1 = warm (turbo's red end)
      const k = Math.round(255 * t) * 3;
      px[i * 4] = LUT[k];
      px[i * 4 + 1] = LUT[k + 1];
      px[i * 4 + 2] = LUT[k + 2];
      px[i * 4 + 3] = 255;
    });
  }
  ctx.putImageData(image, 0, 0);
  $("legend").textContent = span
    ? "red " + span[0].toFixed(2) + " m (near) … blue " + span[1].toFixed(2) + " m (far), 2nd–98th percentile"
    : "no valid depth";
}

async function showResult(c) {
  const links = c.results || {};
  const base = "/v1/captures/" + c.id + "/depth?format=";
  const [result, raw, png] = await Promise.all([
    api(links.json || base + "json").then((r) => r.json()),
    api(links.f32 || base + "f32").then((r) => r.arrayBuffer()),
    api(links.preview || base + "preview").then((r) => r.blob()),
  ]);
  const { width, height } = result;
  if (raw.byteLength !== width * height * 4) throw new ApiError("bad_result", "depth.f32 has " + raw.byteLength + " bytes; result.json says " + width + "×" + height);
  // depth.f32 is little-endian whatever the host is: DataView reads it so.
  const view = new DataView(raw);
  const depth = Float32Array.from({ length: width * height }, (_, i) => view.getFloat32(i * 4, true));
  drawDepth(depth, width, height);
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(png);
  $("preview").src = previewUrl;
  const depthAt = (x, y) => {
    x = Math.floor(x);
    y = Math.floor(y);
    return x >= 0 && y >= 0 && x < width && y < height ? depth[y * width + x] : Number.NaN;
  };
  window.hybridDepth = { captureId: c.id, width, height, depthAt, result };
  const coverage = typeof result.coverage === "number" ? " · coverage " + Math.round(result.coverage * 100) + "%" : "";
  const total = c.timingsMs?.total ?? result.timingsMs?.total;
  $("summary").textContent = "stage " + result.stage + " · " + width + "×" + height + coverage + (c.cacheHit ? " · cache hit" : "") + (total ? " · " + Math.round(total) + " ms" : "");
  $("result").hidden = false;
  setState("done", c.id);
}

// The cursor's position on the scaled canvas, in depth-map pixels.
$("depth").addEventListener("pointermove", (e) => {
  const hd = window.hybridDepth;
  if (!hd) return;
  const r = e.currentTarget.getBoundingClientRect();
  const x = Math.min(hd.width - 1, Math.floor(((e.clientX - r.left) / r.width) * hd.width));
  const y = Math.min(hd.height - 1, Math.floor(((e.clientY - r.top) / r.height) * hd.height));
  const d = hd.depthAt(x, y);
  $("readout").textContent = x + ", " + y + ": " + (validDepth(d) ? d.toFixed(3) + " m" : "no depth");
});
$("depth").addEventListener("pointerleave", () => {
  $("readout").textContent = "–";
});

async function run() {
  showError();
  $("upload").disabled = true;
  $("result").hidden = true;
  window.hybridDepth = undefined;
  for (const r of rows) r.status.textContent = "waiting";
  try {
    // Empty fields go as null: the API's validation names the frame and the problem.
    const frames = rows.map((r) => ({
      file: r.file.name,
      focusDistance: r.focus.value === "" ? null : Number(r.focus.value),
      bytes: r.file.size,
      contentType: r.contentType,
    }));
    const meta = { ...bundle, version: 1, focusUnit: $("unit").value, frames, options: { stage: $("stage").value } };
    setState("creating");
    const created = await (await api("/v1/captures", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(meta) })).json();
    setState(created.state, created.id);
    await uploadFrames(created.uploads);
    // A retried finalize with the same key is answered, not repeated.
    await api("/v1/captures/" + created.id + "/finalize", { method: "POST", headers: { "idempotency-key": uuid() } });
    await showResult(await poll(created.id));
  } catch (e) {
    if (document.body.dataset.state !== "failed") setState("error");
    showError(e.code || "network", e.message);
  } finally {
    $("upload").disabled = rows.length === 0;
  }
}

$("files").addEventListener("change", (e) => pick(e.target.files));
$("folder").addEventListener("change", (e) => pick(e.target.files));
$("upload").addEventListener("click", run);
`;
