// Camera shims injected into the capture page with page.addInitScript (plain browser
// JavaScript: the page's CSP does not govern init scripts). Each is a function declaration the
// test calls by name with JSON arguments; see test/capturePage.test.ts.

/**
 * Chrome's fake camera reports focusDistance 10–100 in no unit: read it as centimetres so the
 * page sees a metric 0.1–1 m lens, while every call still reaches the fake device.
 */
// biome-ignore lint/correctness/noUnusedVariables: called by name from the init script
function metresShim() {
  const P = MediaStreamTrack.prototype;
  const { getCapabilities, applyConstraints, getSettings } = P;
  P.getCapabilities = function () {
    const c = getCapabilities.call(this);
    const f = c.focusDistance;
    if (f) c.focusDistance = { min: f.min / 100, max: f.max / 100, step: (f.step ?? 0) / 100 };
    return c;
  };
  P.applyConstraints = function (c) {
    if (c && typeof c.focusDistance === "number")
      c = { ...c, focusDistance: Math.round(c.focusDistance * 100) };
    return applyConstraints.call(this, c);
  };
  P.getSettings = function () {
    const s = getSettings.call(this);
    if (typeof s.focusDistance === "number") s.focusDistance /= 100;
    return s;
  };
}

/**
 * A lens simulator: a camera whose frames are thin-lens renders of an RGB-D scene (by the test,
 * through the exposed `__renderFocus(distanceM)` → base64 JPEG). A focus request moves the lens
 * only `settleMs` later; until then frames, photos included, still show the old focus.
 * Out-of-range requests reject, as Chrome's do. `window.__lens` records what happened.
 */
// biome-ignore lint/correctness/noUnusedVariables: called by name from the init script
function lensSimulator({ settleMs, focus, width, height }) {
  const lens = { requested: focus.max, position: focus.max, requests: [], shots: [], rejected: 0 };
  window.__lens = lens;
  const cache = new Map();
  const render = (d) => {
    const key = d.toFixed(4);
    if (!cache.has(key))
      cache.set(
        key,
        window.__renderFocus(d).then(async (b64) => {
          const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
          const blob = new Blob([bytes], { type: "image/jpeg" });
          return { blob, bitmap: await createImageBitmap(blob) };
        }),
      );
    return cache.get(key);
  };
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  let shown = -1;
  const paint = async () => {
    const at = lens.position;
    const { bitmap } = await render(at);
    if (lens.position === at) {
      ctx.drawImage(bitmap, 0, 0);
      shown = at;
    }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    // Keep the stream alive with a steady frame rate; repaint whenever the lens moved.
    await paint();
    setInterval(() => {
      if (shown !== lens.position) void paint();
      else ctx.drawImage(canvas, 0, 0);
    }, 33);
    const stream = canvas.captureStream(30);
    const track = stream.getVideoTracks()[0];
    const caps = track.getCapabilities.bind(track);
    track.getCapabilities = () => ({
      ...caps(),
      focusDistance: { ...focus },
      focusMode: ["manual", "continuous"],
    });
    track.getSettings = () => ({
      width,
      height,
      focusMode: "manual",
      focusDistance: lens.requested,
    });
    track.applyConstraints = async (c) => {
      if (c && typeof c.focusDistance === "number") {
        const d = c.focusDistance;
        if (d < focus.min || d > focus.max) {
          lens.rejected++;
          throw new DOMException(`focusDistance ${d} out of range`, "OverconstrainedError");
        }
        lens.requested = d;
        lens.requests.push({ d, t: performance.now() });
        // Resolves at once, before the lens has moved (as Chrome does).
        setTimeout(() => {
          if (lens.requested === d) lens.position = d;
        }, settleMs);
      }
    };
    Object.defineProperty(track, "label", { value: "simulated thin lens" });
    return stream;
  };

  window.ImageCapture = class {
    async getPhotoCapabilities() {
      return { imageWidth: { min: 160, max: width, step: 1 } };
    }
    async takePhoto() {
      const at = lens.position;
      lens.shots.push({ requested: lens.requested, lens: at, t: performance.now() });
      return (await render(at)).blob;
    }
    async grabFrame() {
      return createImageBitmap((await render(lens.position)).blob);
    }
  };
}

/** A browser without the Image Capture API (Safari, Firefox). */
// biome-ignore lint/correctness/noUnusedVariables: called by name from the init script
function noImageCapture() {
  delete window.ImageCapture;
}
